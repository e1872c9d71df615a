// Executor: what a runtime (tmr or hbg) does with a leased callable. The worker owns one per
// (runtime, device); it is called from many threads at once.
#pragma once

#include <memory>

#include "chiprt/run.h"
#include "chiprt/worker.h"
#include "registry/chip_buffer.h"

namespace chiprt::runtime {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs the callable held in `buffer` (leased by the caller for the whole call).
  virtual Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args) = 0;
  // The buffer of `generation` is being released: drop anything cached for it.
  virtual void forget(uint64_t generation) noexcept { (void)generation; }
};

std::unique_ptr<Executor> make_executor(Device& device, const WorkerOptions& options);

}  // namespace chiprt::runtime

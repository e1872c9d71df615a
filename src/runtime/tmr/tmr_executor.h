// TmrExecutor: the host side of the device-orchestration runtime of one worker. A run places
// its inputs in device memory (tagged tensor), launches the callable's orchestration on the
// device (where an AICPU thread runs it as a TmrRun and the chip's cores run its tasks), then
// reads the outputs back and frees everything the run used, so device live bytes after a run
// equal those before it.
//
// Ring slots and heap bytes come from WorkerOptions, else from the chip profile. Each run
// borrows an intermediate heap of the worker (HeapPool: made at the first run, reused, freed at
// finalize) and lends it to the device with the launch; the device places every intermediate
// inside it, so a run allocates no runtime-tagged memory of its own.
//
// Thread safety: run() may be called from many threads at once; runs share the device.
#pragma once

#include "runtime/common/heap_pool.h"
#include "runtime/executor.h"
#include "runtime/tmr/tmr_run.h"

namespace chiprt::runtime {

class TmrExecutor final : public Executor {
 public:
  TmrExecutor(Device& device, const WorkerOptions& options);
  Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args,
                        const LaunchCheck& check, std::vector<CheckWrite>* writes) override;
  void release_memory() noexcept override { heaps_.release_all(); }
  uint64_t heap_bytes_reserved() const override { return heaps_.reserved_bytes(); }
  uint64_t heaps() const override { return heaps_.heaps(); }

 private:
  Device& device_;
  const TmrLimits limits_;
  const Deadlines deadlines_;
  HeapPool heaps_;
};

}  // namespace chiprt::runtime

// TmrExecutor: the device-orchestration runtime of one worker. Owns the worker's simulated
// AICPU threads and AIC/AIV core threads (counts from the device's chip profile), which park
// when idle; every run builds a TmrRun on them.
//
// The threads start on the first run, so a worker that only registers callables costs none.
// Ring slots and heap bytes come from WorkerOptions, else from the chip profile. The heap is
// allocated per run (only by runs that allocate intermediates), so the worker's device
// baseline holds nothing of the runtime between runs.
//
// Thread safety: run() may be called from many threads at once; runs share the cores.
#pragma once

#include <memory>
#include <mutex>

#include "runtime/executor.h"
#include "runtime/scheduler/aicpu_pool.h"
#include "runtime/scheduler/core_pool.h"
#include "runtime/tmr/tmr_run.h"

namespace chiprt::runtime {

class TmrExecutor final : public Executor {
 public:
  TmrExecutor(Device& device, const WorkerOptions& options);
  Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args) override;

 private:
  Device& device_;
  const TmrLimits limits_;
  std::once_flag started_;
  std::unique_ptr<CorePool> cores_;  // destroyed after aicpu_: no orchestration outlives the cores
  std::unique_ptr<AicpuPool> aicpu_;
};

}  // namespace chiprt::runtime

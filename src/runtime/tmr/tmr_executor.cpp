#include "runtime/tmr/tmr_executor.h"

#include <chrono>

namespace chiprt::runtime {
namespace {
TmrLimits limits_for(const Device& device, const WorkerOptions& options) {
  const ChipProfile& p = device.profile();
  TmrLimits l{options.ring_slots ? options.ring_slots : p.ring_slots,
              options.heap_bytes ? options.heap_bytes : p.heap_bytes};
  if (l.ring_slots == 0) l.ring_slots = 64;
  if (l.heap_bytes == 0) l.heap_bytes = 64ull << 20;
  return l;
}
}  // namespace

TmrExecutor::TmrExecutor(Device& device, const WorkerOptions& options)
    : device_(device), limits_(limits_for(device, options)) {}

Result<RunReport> TmrExecutor::run(const registry::ChipBuffer& buffer, const RunArgs& args) {
  if (!buffer.orchestration) {
    return Status(StatusCode::failed_precondition, "the callable has no loaded orchestration");
  }
  const auto start = std::chrono::steady_clock::now();
  std::call_once(started_, [&] {
    const ChipProfile& p = device_.profile();
    cores_ = std::make_unique<CorePool>(p.aic_cores, p.aiv_cores);
    aicpu_ = std::make_unique<AicpuPool>(p.aicpu_threads);
  });
  TmrRun run(device_, *cores_, buffer, args, limits_);
  CHIPRT_RETURN_IF_ERROR(run.prepare());
  aicpu_->post([&run] { run.orchestrate(); });
  Status executed = run.wait();
  auto report = run.finish(std::move(executed));
  if (report.ok()) {
    report->elapsed_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }
  return report;
}

}  // namespace chiprt::runtime

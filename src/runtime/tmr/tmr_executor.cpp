#include "runtime/tmr/tmr_executor.h"

#include <fmt/format.h>

#include <chrono>

namespace chiprt::runtime {
namespace {
TmrLimits limits_for(const Device& device, const WorkerOptions& options) {
  const ChipProfile& p = device.profile();
  TmrLimits l{options.ring_slots ? options.ring_slots : p.ring_slots,
              worker_heap_bytes(device, options)};
  if (l.ring_slots == 0) l.ring_slots = 64;
  return l;
}
}  // namespace

TmrExecutor::TmrExecutor(Device& device, const WorkerOptions& options)
    : device_(device),
      limits_(limits_for(device, options)),
      deadlines_(deadlines(options)),
      heaps_(device, limits_.heap_bytes) {}

Result<RunReport> TmrExecutor::run(const registry::ChipBuffer& buffer, const RunArgs& args,
                                   const LaunchCheck& check, std::vector<CheckWrite>* writes) {
  if (!buffer.orchestration) {
    return Status(StatusCode::failed_precondition, "the callable has no loaded orchestration");
  }
  const auto start = std::chrono::steady_clock::now();
  OrchestrationLaunch launch;
  launch.orchestration = buffer.orchestration->entry();
  launch.kernels = launch_kernels(buffer);
  CHIPRT_RETURN_IF_ERROR(check_tensor_args(args));
  for (const auto& [name, target] : args.device_outputs) {
    CHIPRT_RETURN_IF_ERROR(placed_tensor(device_, name, target).status());
  }
  for (const auto& [name, ref] : args.device_inputs) {  // already in device memory: no copy
    CHIPRT_ASSIGN_OR_RETURN(LaunchTensor t, placed_tensor(device_, name, ref));
    launch.inputs.push_back(std::move(t));
  }
  std::vector<DeviceBuffer> inputs;  // freed when the run returns
  inputs.reserve(args.tensors.size());
  for (const auto& [name, host] : args.tensors) {
    CHIPRT_ASSIGN_OR_RETURN(TensorRecord r, input_record(name, host));
    CHIPRT_ASSIGN_OR_RETURN(DeviceBuffer memory, device_.allocate(r.bytes, MemoryTag::tensor));
    CHIPRT_RETURN_IF_ERROR(device_.copy_to_device(memory.addr(), host.data));
    LaunchTensor& t = launch.inputs.emplace_back();
    t.name = name;
    t.dtype = r.dtype;
    t.ndim = r.ndim;
    for (uint32_t d = 0; d < r.ndim; ++d) t.shape[d] = r.shape[d];
    t.addr = memory.addr();
    t.bytes = r.bytes;
    inputs.push_back(std::move(memory));
  }
  launch.scalars.assign(args.scalars.begin(), args.scalars.end());
  launch.ring_slots = limits_.ring_slots;
  // The orchestration may allocate intermediates at any point: every run borrows a heap.
  CHIPRT_ASSIGN_OR_RETURN(HeapPool::Lease heap, heaps_.acquire());
  launch.heap_bytes = limits_.heap_bytes;
  launch.heap_addr = heap.addr();
  launch.trace = args.trace;
  launch.label = fmt::format("callable '{}'", buffer.name);
  launch.check = check;
  CHIPRT_ASSIGN_OR_RETURN(Deadlines limits, launch_limits(deadlines_, args));
  limits.kernel_names = buffer.names;
  CHIPRT_ASSIGN_OR_RETURN(LaunchResult result, device_.launch(launch, limits));
  RunReport report;
  report.tasks = result.tasks;
  report.peak_ring_occupancy = result.peak_ring_occupancy;
  report.peak_heap_bytes = result.peak_heap_bytes;
  report.orchestration_calls = result.orchestration_calls;
  report.runtime_fixed_bytes = 0;  // nothing tagged runtime besides the heap: see RunReport
  report.ring_slots = limits_.ring_slots;
  report.heap_limit_bytes = limits_.heap_bytes;
  report.trace = std::move(result.trace);
  report.edges = std::move(result.edges);
  report.orchestration = std::move(result.orchestration);
  if (check.serial) report.checks = launch_check_report(result);
  if (writes) *writes = std::move(result.writes);
  CHIPRT_RETURN_IF_ERROR(deliver_outputs(device_, result, args, report.outputs));
  report.elapsed_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace chiprt::runtime

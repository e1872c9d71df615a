#include "runtime/hbg/hbg_executor.h"

#include <fmt/format.h>

#include <chrono>

#include "runtime/common/tensor_table.h"
#include "runtime/hbg/graph_recorder.h"
#include "runtime/scheduler/graph_run.h"

namespace chiprt::runtime {

HbgExecutor::HbgExecutor(Device& device, const WorkerOptions& options)
    : device_(device),
      heap_limit_(options.heap_bytes            ? options.heap_bytes
                  : device.profile().heap_bytes ? device.profile().heap_bytes
                                                : 64ull << 20),
      cache_(options.graph_cache_entries ? options.graph_cache_entries : 16) {}

Result<RunReport> HbgExecutor::run(const registry::ChipBuffer& buffer, const RunArgs& args) {
  if (!buffer.orchestration) {
    return Status(StatusCode::failed_precondition, "the callable has no loaded orchestration");
  }
  const auto start = std::chrono::steady_clock::now();
  std::call_once(started_, [&] {
    cores_ = std::make_unique<CorePool>(device_.profile().aic_cores, device_.profile().aiv_cores);
  });
  std::shared_ptr<const DeviceGraph> graph = cache_.find(buffer.generation, args);
  const bool hit = graph != nullptr;
  if (!hit) {
    GraphRecorder recorder(device_, buffer, args, heap_limit_);
    CHIPRT_ASSIGN_OR_RETURN(RecordedGraph recorded, recorder.record());
    CHIPRT_ASSIGN_OR_RETURN(graph, upload_graph(device_, buffer.generation, std::move(recorded)));
    graph = cache_.insert(std::move(graph), args);
  }
  auto report = replay(*graph, args);
  if (!report.ok()) return report;
  report->graph_cache_hit = hit;
  report->orchestration_calls = hit ? 0 : 1;
  report->graph_bytes = graph->device_bytes();
  graph.reset();  // an evicted graph is freed before the cache is measured
  report->graph_cache_bytes = cache_.device_bytes();
  report->elapsed_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<RunReport> HbgExecutor::replay(const DeviceGraph& graph, const RunArgs& args) {
  TensorTable table(device_);
  CHIPRT_RETURN_IF_ERROR(table.add_inputs(args));
  DeviceBuffer heap;
  std::byte* heap_host = nullptr;
  if (graph.heap_bytes > 0) {
    CHIPRT_ASSIGN_OR_RETURN(heap, device_.allocate(graph.heap_bytes, MemoryTag::runtime));
    heap_host = device_.host_pointer(heap.addr(), graph.heap_bytes);
    if (heap_host == nullptr)
      return Status(StatusCode::unavailable, "device memory is not host-visible");
  }
  // Where each recorded tensor lives in this run.
  std::vector<std::byte*> tensor_host(graph.tensors.size(), nullptr);
  for (size_t i = 0; i < graph.tensors.size(); ++i) {
    const GraphTensor& t = graph.tensors[i];
    if (t.kind == TensorKind::intermediate) {
      tensor_host[i] = heap_host + t.heap_offset;
      continue;
    }
    uint64_t handle = 0;
    if (t.kind == TensorKind::input) {
      auto found = table.input(t.name);
      if (!found) return Status(StatusCode::internal, fmt::format("input '{}' vanished", t.name));
      handle = *found;
    } else {
      CHIPRT_ASSIGN_OR_RETURN(handle, table.add_output(t.name, t.dtype, t.ndim, t.shape));
    }
    tensor_host[i] = table.find(handle)->host;
  }
  std::vector<std::byte*> bases(graph.params.size(), nullptr);
  for (size_t p = 0; p < graph.params.size(); ++p) {
    const chiprt_param_t& param = graph.params[p];
    if (param.kind != CHIPRT_PARAM_SCALAR) bases[p] = tensor_host[param.tensor.base - kHandleBase];
  }

  const uint32_t n = static_cast<uint32_t>(graph.tasks.size());
  GraphRun run(*cores_, n, GraphRun::Mode::fixed, args.trace);
  for (uint32_t i = 0; i < n; ++i) {
    const DeviceGraphTask& t = graph.tasks[i];
    const TaskDesc desc{i,
                        t.func_id,
                        static_cast<CoreType>(t.core_type),
                        graph.entries[i],
                        t.param_count,
                        graph.params.data() + t.first_param,
                        bases.data() + t.first_param};
    run.set_fixed(i, desc, t.dep_count,
                  graph.successors.subspan(t.first_successor, t.successor_count));
  }
  run.start_fixed();
  run.close();
  CHIPRT_RETURN_IF_ERROR(run.wait());

  RunReport report;
  report.tasks = n;
  report.peak_heap_bytes = graph.heap_bytes;
  report.trace = run.take_trace();
  CHIPRT_RETURN_IF_ERROR(table.read_outputs(report.outputs));
  return report;
}

}  // namespace chiprt::runtime

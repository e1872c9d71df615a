#include "runtime/hbg/hbg_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "runtime/common/tensor_table.h"
#include "runtime/hbg/graph_recorder.h"

namespace chiprt::runtime {
namespace {
// What the graph cache and the recorder see of a run with device inputs: each one as a host
// tensor of its dtype and shape (with zeroed data of its size when `sized`, for the recorder,
// which checks sizes but reads no data).
RunArgs shape_args(const RunArgs& args, bool sized) {
  RunArgs out;
  out.tensors = args.tensors;
  out.scalars = args.scalars;
  out.trace = args.trace;
  for (const auto& [name, ref] : args.device_inputs) {
    HostTensor& t = out.tensors[name];
    t.dtype = ref.dtype;
    t.shape = ref.shape;
    if (sized) t.data.resize(ref.bytes);
  }
  return out;
}
// `check` with what the device needs to know of each graph tensor to check it; intermediates
// are named by their order of allocation, as tmr names them.
LaunchCheck checked_tensors(const LaunchCheck& check, const std::vector<GraphTensor>& tensors) {
  LaunchCheck out = check;
  out.tensors.clear();
  uint64_t intermediates = 0;
  for (const GraphTensor& t : tensors) {
    LaunchCheck::Tensor& c = out.tensors.emplace_back();
    c.dtype = t.dtype;
    c.bytes = t.bytes;
    c.fresh = t.kind != TensorKind::input;
    if (t.kind == TensorKind::intermediate) {
      const uint64_t n = intermediates++;
      c.name = fmt::format("intermediate {}", n);
      c.label = fmt::format("intermediate {} (alloc_tensor call {})", n, n);
    } else {
      c.name = t.name;
      c.label = fmt::format("{} '{}'", t.kind == TensorKind::input ? "argument" : "output", t.name);
    }
  }
  return out;
}
}  // namespace

HbgExecutor::HbgExecutor(Device& device, const WorkerOptions& options)
    : device_(device),
      heap_limit_(worker_heap_bytes(device, options)),
      deadlines_(deadlines(options)),
      replay_cache_bytes_(options.replay_cache_bytes ? options.replay_cache_bytes
                                                     : kDefaultReplayCacheBytes),
      cache_(options.graph_cache_entries ? options.graph_cache_entries : kDefaultGraphCacheEntries,
             options.graph_cache_bytes ? options.graph_cache_bytes : kDefaultGraphCacheBytes,
             options.graph_cache_host_bytes ? options.graph_cache_host_bytes
                                            : kDefaultGraphCacheHostBytes),
      heaps_(device, heap_limit_) {}

WorkerStats::GraphCache HbgExecutor::graph_cache() const {
  WorkerStats::GraphCache out;
  const GraphCache::Use use = cache_.use();
  out.entries = use.entries;
  out.bytes = use.device_bytes;
  out.host_bytes = use.host_bytes;
  out.peak_entries = use.peak_entries;
  out.peak_bytes = use.peak_device_bytes;
  out.peak_host_bytes = use.peak_host_bytes;
  out.capacity_entries = cache_.capacity();
  out.capacity_bytes = cache_.capacity_bytes();
  out.capacity_host_bytes = cache_.capacity_host_bytes();
  out.evictions = use.evictions;
  return out;
}

Result<HbgExecutor::Found> HbgExecutor::find_or_record(const registry::ChipBuffer& buffer,
                                                       const RunArgs& args) {
  if (!buffer.orchestration) {
    return Status(StatusCode::failed_precondition, "the callable has no loaded orchestration");
  }
  CHIPRT_RETURN_IF_ERROR(check_tensor_args(args));
  RunArgs shapes;
  if (!args.device_inputs.empty()) shapes = shape_args(args, false);
  const RunArgs& keyed = args.device_inputs.empty() ? args : shapes;
  Found found;
  found.graph = cache_.find(buffer.generation, keyed);
  found.hit = found.graph != nullptr;
  found.fixed_bytes = cache_.device_bytes();
  if (found.hit) return found;
  const auto start = std::chrono::steady_clock::now();
  RunArgs sized;
  if (!args.device_inputs.empty()) sized = shape_args(args, true);
  const KernelTable kernels = kernel_table(buffer);
  GraphRecorder recorder(device_, kernels, buffer.name, args.device_inputs.empty() ? args : sized,
                         heap_limit_);
  const RecordRequest request{buffer.name, heap_limit_, &kernels, &keyed, &found.entry_calls};
  CHIPRT_ASSIGN_OR_RETURN(RecordedGraph recorded, recorder.record([&](OrchBackend& sink) {
    Deadlines limits = deadlines_;
    limits.stop = args.stop;  // a stop request ends the recording (and its sandbox)
    return record_orchestration(*buffer.orchestration, request, sink, limits);
  }));
  found.record_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  CHIPRT_ASSIGN_OR_RETURN(found.graph,
                          upload_graph(device_, buffer.generation, std::move(recorded)));
  found.fixed_bytes += found.graph->device_bytes();
  found.graph = cache_.insert(std::move(found.graph), keyed);
  return found;
}

namespace {
// A traced report's edges and orchestration track from the graph: the recording (ending where
// the replay starts, at 0) and, when replayed, the replay up to its last task's end.
void trace_graph(const DeviceGraph& graph, double record_us, bool replayed, RunReport& report) {
  report.edges = graph.edges;
  if (record_us > 0) report.orchestration.push_back({OrchestrationSpan::record, 0, -record_us, 0});
  if (!replayed) return;
  double end = 0;
  for (const TaskTrace& t : report.trace) end = std::max(end, t.end_us);
  report.orchestration.push_back({OrchestrationSpan::replay, 0, 0, end});
}
}  // namespace

Result<RunReport> HbgExecutor::graph(const registry::ChipBuffer& buffer, const RunArgs& args) {
  CHIPRT_ASSIGN_OR_RETURN(Found found, find_or_record(buffer, args));
  RunReport report;
  report.tasks = found.graph->task_count;
  report.orchestration_calls = found.entry_calls;
  report.graph_cache_hit = found.hit;
  report.peak_heap_bytes = found.graph->heap_bytes;
  report.heap_limit_bytes = heap_limit_;
  for (uint64_t i = 0; i < found.graph->task_kernels.size(); ++i) {
    const auto [func_id, core] = found.graph->task_kernels[i];
    report.trace.push_back({i, func_id, core, 0, 0, 0, 0});
  }
  trace_graph(*found.graph, found.record_us, false, report);
  return report;
}

Result<RunReport> HbgExecutor::run(const registry::ChipBuffer& buffer, const RunArgs& args,
                                   const LaunchCheck& check, std::vector<CheckWrite>* writes) {
  const auto start = std::chrono::steady_clock::now();
  CHIPRT_ASSIGN_OR_RETURN(Found found, find_or_record(buffer, args));
  std::shared_ptr<const DeviceGraph> graph = std::move(found.graph);
  const uint64_t fixed_bytes = found.fixed_bytes;
  auto report = replay(buffer, *graph, args, check, writes);
  if (!report.ok()) return report;
  if (args.trace) trace_graph(*graph, found.record_us, true, *report);
  report->graph_cache_hit = found.hit;
  report->orchestration_calls = found.entry_calls;
  report->heap_limit_bytes = heap_limit_;
  report->graph_bytes = graph->device_bytes();
  report->graph_edges = graph->edge_count;
  graph.reset();  // an evicted graph is freed before the cache is measured
  report->graph_cache_bytes = cache_.device_bytes();
  report->runtime_fixed_bytes = std::max(fixed_bytes, report->graph_cache_bytes);
  report->elapsed_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<RunReport> HbgExecutor::replay(const registry::ChipBuffer& buffer, const DeviceGraph& graph,
                                      const RunArgs& args, const LaunchCheck& check,
                                      std::vector<CheckWrite>* writes) {
  // Device inputs and output targets are used where they are: no copy.
  std::map<std::string, DeviceAddr> placed;
  for (const auto& [name, ref] : args.device_inputs) {
    CHIPRT_ASSIGN_OR_RETURN(LaunchTensor t, placed_tensor(device_, name, ref));
    placed[name] = t.addr;
  }
  for (const auto& requested : args.device_outputs) {
    const std::string& name = requested.first;  // a plain name: lambdas capture no bindings
    const DeviceTensorRef& target = requested.second;
    CHIPRT_ASSIGN_OR_RETURN(LaunchTensor t, placed_tensor(device_, name, target));
    const bool produced = std::any_of(graph.tensors.begin(), graph.tensors.end(), [&](auto& g) {
      return g.kind == TensorKind::output && g.name == name;
    });
    if (!produced) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("device output '{}' names no output of the run", name));
    }
  }
  TensorTable table(device_);
  CHIPRT_RETURN_IF_ERROR(table.add_inputs(args));
  HeapPool::Lease heap;  // only a graph with intermediates needs one
  if (graph.heap_bytes > 0) {
    CHIPRT_ASSIGN_OR_RETURN(heap, heaps_.acquire());
  }
  GraphLaunch launch;
  launch.graph = graph.memory.addr();
  launch.graph_bytes = graph.serialized_bytes;
  launch.kernels = launch_kernels(buffer);
  launch.trace = args.trace;
  launch.replay_cache_bytes = replay_cache_bytes_;
  if (check.serial) launch.check = checked_tensors(check, graph.tensors);
  // Where each recorded tensor lives in this run.
  launch.tensors.reserve(graph.tensors.size());
  for (const GraphTensor& t : graph.tensors) {
    if (t.kind == TensorKind::intermediate) {
      launch.tensors.push_back(heap.addr() + t.heap_offset);
      continue;
    }
    if (t.kind == TensorKind::input) {
      if (auto it = placed.find(t.name); it != placed.end()) {
        launch.tensors.push_back(it->second);
        continue;
      }
    } else if (auto it = args.device_outputs.find(t.name); it != args.device_outputs.end()) {
      CHIPRT_RETURN_IF_ERROR(check_output_target(t.name, t.dtype, t.ndim, t.shape, it->second));
      launch.tensors.push_back(it->second.addr);
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
    launch.tensors.push_back(table.find(handle)->memory.addr());
  }
  CHIPRT_ASSIGN_OR_RETURN(Deadlines limits, launch_limits(deadlines_, args));
  limits.kernel_names = buffer.names;
  CHIPRT_ASSIGN_OR_RETURN(LaunchResult result, device_.launch(launch, limits));
  RunReport report;
  report.tasks = graph.task_count;
  report.peak_heap_bytes = graph.heap_bytes;
  report.trace = std::move(result.trace);
  if (check.serial) report.checks = launch_check_report(result);
  if (writes) *writes = std::move(result.writes);
  CHIPRT_RETURN_IF_ERROR(table.read_outputs(report.outputs));
  return report;
}

}  // namespace chiprt::runtime

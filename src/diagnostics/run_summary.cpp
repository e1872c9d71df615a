#include "chiprt/run_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace chiprt {
namespace {

// Index of each task id in the trace.
using TaskIndex = std::unordered_map<uint64_t, size_t>;

TaskIndex index_tasks(const RunReport& report) {
  TaskIndex index;
  index.reserve(report.trace.size());
  for (size_t i = 0; i < report.trace.size(); ++i) index.emplace(report.trace[i].task_id, i);
  return index;
}

Status check_edges(const RunReport& report, const TaskIndex& index) {
  for (const TaskEdge& e : report.edges) {
    if (!index.contains(e.from) || !index.contains(e.to)) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("the trace has no task {} of the edge {} -> {}",
                                index.contains(e.from) ? e.to : e.from, e.from, e.to));
    }
    if (e.from >= e.to) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("the edge {} -> {} does not go to a later task", e.from, e.to));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string kernel_name(const RunReport& report, uint32_t func_id) {
  if (auto it = report.kernel_names.find(func_id); it != report.kernel_names.end()) {
    return it->second;
  }
  return fmt::format("func {}", func_id);
}

std::vector<size_t> longest_chain(const RunReport& report, const std::vector<double>& weight) {
  const TaskIndex index = index_tasks(report);
  // Edges go from earlier to later task ids: visiting tasks by id is a topological order.
  std::vector<size_t> order(report.trace.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return report.trace[a].task_id < report.trace[b].task_id; });
  std::vector<std::vector<size_t>> preds(report.trace.size());
  for (const TaskEdge& e : report.edges) {
    auto from = index.find(e.from);
    auto to = index.find(e.to);
    if (from == index.end() || to == index.end() || e.from >= e.to) continue;  // see check_edges
    preds[to->second].push_back(from->second);
  }
  std::vector<double> best(report.trace.size(), 0);
  std::vector<size_t> via(report.trace.size(), SIZE_MAX);
  size_t last = SIZE_MAX;
  for (size_t i : order) {
    double before = 0;
    for (size_t p : preds[i]) {
      if (via[i] == SIZE_MAX || best[p] > before) {
        before = best[p];
        via[i] = p;
      }
    }
    best[i] = before + weight[i];
    if (last == SIZE_MAX || best[i] > best[last]) last = i;
  }
  std::vector<size_t> chain;
  for (size_t i = last; i != SIZE_MAX; i = via[i]) chain.push_back(i);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

Result<RunSummary> summarize_run(const RunReport& report) {
  if (report.trace.empty() && report.tasks > 0) {
    return Status(StatusCode::invalid_argument, "the run was not traced (RunArgs::trace)");
  }
  const TaskIndex index = index_tasks(report);
  if (index.size() != report.trace.size()) {
    return Status(StatusCode::invalid_argument, "the trace names a task twice");
  }
  CHIPRT_RETURN_IF_ERROR(check_edges(report, index));
  RunSummary s;
  s.elapsed_us = report.elapsed_us;
  s.tasks = report.trace.size();
  std::vector<double> kernel_us(report.trace.size());
  for (size_t i = 0; i < report.trace.size(); ++i) {
    const TaskTrace& t = report.trace[i];
    kernel_us[i] = std::max(0.0, t.end_us - t.start_us);
    s.wall_us = std::max(s.wall_us, t.end_us);
    ++s.tasks_per_kernel[kernel_name(report, t.func_id)];
  }

  for (size_t i : longest_chain(report, kernel_us)) {
    const TaskTrace& t = report.trace[i];
    s.critical_path.tasks.push_back(
        {t.task_id, t.func_id, kernel_name(report, t.func_id), kernel_us[i]});
    s.critical_path.us += kernel_us[i];
  }

  std::map<std::pair<uint32_t, uint32_t>, RunSummary::CoreBusy> cores;
  for (size_t i = 0; i < report.trace.size(); ++i) {
    const TaskTrace& t = report.trace[i];
    RunSummary::CoreBusy& c = cores[{t.core_type, t.core_index}];
    c.core_type = t.core_type;
    c.core_index = t.core_index;
    ++c.tasks;
    c.busy_us += kernel_us[i];
  }
  std::map<uint32_t, RunSummary::CoreTypeBusy> types;
  for (auto& [key, c] : cores) {
    c.share = s.wall_us > 0 ? c.busy_us / s.wall_us : 0;
    s.cores.push_back(c);
    RunSummary::CoreTypeBusy& type = types[c.core_type];
    type.core_type = c.core_type;
    ++type.cores;
    type.busy_us += c.busy_us;
  }
  for (auto& [key, type] : types) {
    type.share = s.wall_us > 0 ? type.busy_us / (type.cores * s.wall_us) : 0;
    s.core_types.push_back(type);
  }

  std::vector<double> ready(report.trace.size());
  for (size_t i = 0; i < report.trace.size(); ++i) ready[i] = report.trace[i].submit_us;
  for (const TaskEdge& e : report.edges) {
    const size_t to = index.at(e.to);
    ready[to] = std::max(ready[to], report.trace[index.at(e.from)].end_us);
  }
  for (size_t i = 0; i < report.trace.size(); ++i) {
    const double wait = std::max(0.0, report.trace[i].start_us - ready[i]);
    s.ready_wait_total_us += wait;
    if (wait > s.ready_wait_max_us) {
      s.ready_wait_max_us = wait;
      s.ready_wait_max_task = report.trace[i].task_id;
    }
  }

  s.ring_high_water = report.peak_ring_occupancy;
  s.ring_slots = report.ring_slots;
  s.heap_high_water = report.peak_heap_bytes;
  s.heap_limit = report.heap_limit_bytes;
  s.edges = report.edges.size();
  for (const TaskEdge& e : report.edges) {
    s.edges_raw += (e.kinds & kReadAfterWrite) != 0;
    s.edges_war += (e.kinds & kWriteAfterRead) != 0;
    s.edges_waw += (e.kinds & kWriteAfterWrite) != 0;
    s.edges_reuse += (e.kinds & kMemoryReuse) != 0;
  }
  return s;
}

}  // namespace chiprt

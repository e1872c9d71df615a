#include "run_trace_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "chiprt/abi/image_format.h"
#include "chiprt/run_summary.h"

namespace chiprt::cli {
namespace {

constexpr int kPid = 1;
constexpr uint32_t kOrchestrationTrack = 0;

uint32_t core_track(const TaskTrace& t) {
  return 1 + t.core_type * 1000 + t.core_index;
}

std::string core_name(uint32_t core_type, uint32_t core_index) {
  return fmt::format("{} {}", core_type == CHIPRT_CORE_AIC ? "AIC" : "AIV", core_index);
}

// Text inside a DOT string: quotes and backslashes escaped.
std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}
std::string quoted(const std::string& text) {
  return '"' + escaped(text) + '"';
}

}  // namespace

nlohmann::json chrome_trace_json(const RunReport& report, const std::string& run) {
  double origin = 0;  // hbg's recording ends at 0: start the trace at its beginning
  for (const OrchestrationSpan& s : report.orchestration) origin = std::min(origin, s.start_us);
  nlohmann::json events = nlohmann::json::array();
  std::map<uint32_t, std::string> tracks;
  std::unordered_map<uint64_t, const TaskTrace*> by_task;
  for (const TaskTrace& t : report.trace) {
    by_task.emplace(t.task_id, &t);
    const uint32_t tid = core_track(t);
    tracks[tid] = core_name(t.core_type, t.core_index);
    const std::string kernel = kernel_name(report, t.func_id);
    nlohmann::json args = {{"task", t.task_id},
                           {"func_id", t.func_id},
                           {"kernel", kernel},
                           {"core", tracks[tid]},
                           {"run", run}};
    if (t.submit_us > 0) args["submitted_us"] = t.submit_us - origin;
    events.push_back({{"name", kernel},
                      {"cat", "task"},
                      {"ph", "X"},
                      {"ts", t.start_us - origin},
                      {"dur", std::max(t.end_us - t.start_us, 0.0)},
                      {"pid", kPid},
                      {"tid", tid},
                      {"args", std::move(args)}});
  }
  if (!report.orchestration.empty()) tracks[kOrchestrationTrack] = "orchestration";
  for (const OrchestrationSpan& s : report.orchestration) {
    nlohmann::json args = {{"run", run}};
    if (s.kind == OrchestrationSpan::submit) args["task"] = s.task_id;
    events.push_back({{"name", orchestration_span_name(s.kind)},
                      {"cat", "orchestration"},
                      {"ph", "X"},
                      {"ts", s.start_us - origin},
                      {"dur", std::max(s.end_us - s.start_us, 0.0)},
                      {"pid", kPid},
                      {"tid", kOrchestrationTrack},
                      {"args", std::move(args)}});
  }
  // A flow starts inside the earlier task's span and ends at the start of the later one's
  // ("bp": "e" binds it to the span enclosing that point).
  uint64_t flow_id = 0;
  for (const TaskEdge& e : report.edges) {
    auto from = by_task.find(e.from);
    auto to = by_task.find(e.to);
    if (from == by_task.end() || to == by_task.end()) continue;
    const std::string name = dependency_kind_names(e.kinds);
    const nlohmann::json args = {{"from", e.from}, {"to", e.to}};
    events.push_back({{"name", name},
                      {"cat", "dependency"},
                      {"ph", "s"},
                      {"id", flow_id},
                      {"ts", from->second->start_us - origin},
                      {"pid", kPid},
                      {"tid", core_track(*from->second)},
                      {"args", args}});
    events.push_back({{"name", name},
                      {"cat", "dependency"},
                      {"ph", "f"},
                      {"bp", "e"},
                      {"id", flow_id},
                      {"ts", to->second->start_us - origin},
                      {"pid", kPid},
                      {"tid", core_track(*to->second)},
                      {"args", args}});
    ++flow_id;
  }
  for (const auto& [tid, name] : tracks) {
    events.push_back({{"name", "thread_name"},
                      {"ph", "M"},
                      {"pid", kPid},
                      {"tid", tid},
                      {"args", {{"name", name}}}});
    events.push_back({{"name", "thread_sort_index"},
                      {"ph", "M"},
                      {"pid", kPid},
                      {"tid", tid},
                      {"args", {{"sort_index", tid}}}});
  }
  events.push_back(
      {{"name", "process_name"}, {"ph", "M"}, {"pid", kPid}, {"args", {{"name", "chip"}}}});
  return nlohmann::json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}};
}

std::string graph_dot(const RunReport& report, const std::string& title) {
  bool timed = false;
  for (const TaskTrace& t : report.trace) timed = timed || t.end_us > t.start_us;
  std::vector<double> weight(report.trace.size(), 1.0);
  if (timed) {
    for (size_t i = 0; i < weight.size(); ++i) {
      weight[i] = std::max(0.0, report.trace[i].end_us - report.trace[i].start_us);
    }
  }
  std::set<uint64_t> on_path;
  std::set<std::pair<uint64_t, uint64_t>> path_edges;
  const std::vector<size_t> chain = longest_chain(report, weight);
  for (size_t i = 0; i < chain.size(); ++i) {
    on_path.insert(report.trace[chain[i]].task_id);
    if (i > 0)
      path_edges.emplace(report.trace[chain[i - 1]].task_id, report.trace[chain[i]].task_id);
  }
  std::string out = fmt::format(
      "digraph {} {{\n  rankdir=TB;\n  labelloc=t;\n  label={};\n"
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", "
      "fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n",
      quoted("chiprt"), quoted(title));
  std::vector<const TaskTrace*> tasks;
  for (const TaskTrace& t : report.trace) tasks.push_back(&t);
  std::sort(tasks.begin(), tasks.end(),
            [](const TaskTrace* a, const TaskTrace* b) { return a->task_id < b->task_id; });
  for (const TaskTrace* t : tasks) {
    std::string label = fmt::format("{}\\ntask {} on {}", escaped(kernel_name(report, t->func_id)),
                                    t->task_id, t->core_type == CHIPRT_CORE_AIC ? "AIC" : "AIV");
    if (timed) label += fmt::format("\\n{:.1f} us", std::max(0.0, t->end_us - t->start_us));
    out += fmt::format("  t{} [label=\"{}\"{}];\n", t->task_id, label,
                       on_path.contains(t->task_id)
                           ? ", color=\"#c0392b\", penwidth=2.5, fillcolor=\"#fdecea\""
                           : "");
  }
  for (const TaskEdge& e : report.edges) {
    out += fmt::format(
        "  t{} -> t{} [label={}{}];\n", e.from, e.to, quoted(dependency_kind_names(e.kinds)),
        path_edges.contains({e.from, e.to}) ? ", color=\"#c0392b\", penwidth=2.5" : "");
  }
  out += "}\n";
  return out;
}

}  // namespace chiprt::cli

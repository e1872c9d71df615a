// A traced run (RunReport::trace, edges, orchestration) in the formats viewers read: Chrome
// trace JSON (Perfetto, chrome://tracing) and a Graphviz DOT picture of its task graph.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chiprt/run.h"

namespace chiprt::cli {

// One track per logical core and one for the orchestration; each task a span named by its
// kernel (args: task, func_id, kernel, core, run), each dependency edge a flow arrow from the
// earlier task's span to the later one's, named by its kinds (RAW, WAR, WAW, reuse). `run`
// labels the run in every span's args. Times are shifted so the earliest event is at 0.
nlohmann::json chrome_trace_json(const RunReport& report, const std::string& run);

// The task graph as DOT: a node per task (kernel name and task id), an edge per dependency
// (labelled by its kinds), and the critical path in red (the longest chain by kernel time, or
// by task count when the trace has no times). Exactly one "->" per edge.
std::string graph_dot(const RunReport& report, const std::string& title);

}  // namespace chiprt::cli

// RunSummary: where the time of one traced run went, computed on the host from its
// RunReport (the tasks' trace, the dependency edges, the orchestration track and the run's
// high-water marks). `chiprt run --report` prints it; `run --json` carries it as "report";
// Python's RunReport has it as `summary`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chiprt/run.h"
#include "chiprt/status.h"

namespace chiprt {

struct RunSummary {
  double wall_us = 0;     // the run on the device: from its start to the last task's end
  double elapsed_us = 0;  // the run as the host's caller saw it (RunReport::elapsed_us)
  uint64_t tasks = 0;

  // The chain of dependent tasks whose kernels take longest together: no schedule can end the
  // run before `us` (the sum of their kernel times), whatever the cores.
  struct PathStep {
    uint64_t task = 0;
    uint32_t func_id = 0;
    std::string kernel;  // RunReport::kernel_names, else "func N"
    double us = 0;       // its kernel time
  };
  struct CriticalPath {
    double us = 0;
    std::vector<PathStep> tasks;  // first to last
  };
  CriticalPath critical_path;

  // Kernel time per logical core that ran a task, and per core type over the cores of that type
  // the run used; share = busy / wall, within 0..1 for a core.
  struct CoreBusy {
    uint32_t core_type = 0;  // chiprt_core_type_t
    uint32_t core_index = 0;
    uint64_t tasks = 0;
    double busy_us = 0;
    double share = 0;
  };
  std::vector<CoreBusy> cores;  // by (core type, index)
  struct CoreTypeBusy {
    uint32_t core_type = 0;
    uint32_t cores = 0;  // used by the run
    double busy_us = 0;
    double share = 0;  // busy / (cores * wall)
  };
  std::vector<CoreTypeBusy> core_types;

  // Ready-to-start wait of a task: from when it could run (submitted, and every predecessor
  // ended) to when its kernel started.
  double ready_wait_total_us = 0;
  double ready_wait_max_us = 0;
  uint64_t ready_wait_max_task = 0;

  std::map<std::string, uint64_t> tasks_per_kernel;  // by kernel name

  uint64_t ring_high_water = 0;  // tmr: most tasks in flight at once
  uint64_t ring_slots = 0;
  uint64_t heap_high_water = 0;  // bytes of intermediates
  uint64_t heap_limit = 0;

  // Dependency edges, and how many carry each kind (an edge may carry several).
  uint64_t edges = 0;
  uint64_t edges_raw = 0;
  uint64_t edges_war = 0;
  uint64_t edges_waw = 0;
  uint64_t edges_reuse = 0;
};

// The summary of a traced run. invalid_argument when the report has no trace (run with
// RunArgs::trace), or when an edge names a task the trace lacks or does not go from an earlier
// task to a later one.
Result<RunSummary> summarize_run(const RunReport& report);

// The kernel name of `func_id` in `report` ("func N" when unnamed).
std::string kernel_name(const RunReport& report, uint32_t func_id);

// The longest chain of `report`'s trace through its edges, each task weighing `weight(task)`;
// indices into report.trace, first to last. Empty when the trace is empty. Edges summarize_run
// would refuse are left out.
std::vector<size_t> longest_chain(const RunReport& report, const std::vector<double>& weight);

}  // namespace chiprt

// The dispatch workload shared by `chiprt bench` and the Google Benchmark target: a 1,000-task
// layered DAG of empty kernels (10 layers x 100, two predecessors per task) on a chip with 2
// AIV cores, and the same DAG in oneTBB flow_graph on a 2-thread arena.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <tbb/flow_graph.h>

#include "chiprt/worker.h"

namespace chiprt::cli {

inline constexpr int kDagLayers = 10, kDagWidth = 100, kDagTasks = kDagLayers * kDagWidth;
inline constexpr int kDagThreads = 2;

// The packed layered_dag example, its run arguments, and a bench chip whose AIV core count
// matches the TBB thread count.
Result<Bytes> dag_image(const std::filesystem::path& examples);
RunArgs dag_args();
ChipProfile dag_chip_profile();

struct DagRig {
  std::shared_ptr<Device> device;
  std::unique_ptr<ChipWorker> worker;
  CallableId id = 0;
};
Result<DagRig> make_dag_rig(const std::filesystem::path& examples, RuntimeKind runtime,
                            uint32_t ring_slots = 0);

using DagNode = tbb::flow::continue_node<tbb::flow::continue_msg>;
// Builds the layered DAG in flow graph `g` (nodes owned by `nodes`); returns the roots.
std::vector<DagNode*> build_dag_flow_graph(tbb::flow::graph& g,
                                           std::vector<std::unique_ptr<DagNode>>& nodes);

// TBB baselines, in nanoseconds per task, as the median of `iterations` repetitions:
// building and running the DAG, and re-running one already built.
double tbb_build_and_run_ns_per_task(size_t iterations);
double tbb_rerun_ns_per_task(size_t iterations);

}  // namespace chiprt::cli

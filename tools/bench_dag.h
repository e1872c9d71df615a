// The dispatch workloads shared by `chiprt bench` and the Google Benchmark target, each on a
// chip with 2 AIV cores against the same DAG in oneTBB flow_graph on a 2-thread arena:
// - layered: a 1,000-task layered DAG of kernels that do no work (10 layers x 100, two
//   predecessors per task, each a single element of tensor t);
// - wavefront: 10 sweeps over a 10 x 10 grid of 4 x 4 tiles of one tensor, 1,000 tasks of a
//   kernel that does no work, whose dependencies (RAW, WAW and WAR, up to five) come from the
//   tile views alone (examples/tiled_wavefront).
// With marks (DagRig::marked), each task, and each node of the TBB floor alike, writes its id
// into its own row of a marks tensor and counts its call there, so `chiprt bench` can check
// after every sample that every task ran exactly once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include <tbb/flow_graph.h>
#include <tbb/task_arena.h>

#include "chiprt/status.h"
#include "chiprt/worker.h"

namespace chiprt::cli {

inline constexpr int kDagLayers = 10, kDagWidth = 100, kDagTasks = kDagLayers * kDagWidth;
inline constexpr int kWaveTiles = 10, kWaveSweeps = 10, kWaveTileRows = 4, kWaveTileCols = 4;
inline constexpr int kWaveTasks = kWaveSweeps * kWaveTiles * kWaveTiles;
inline constexpr int kDagThreads = 2;

enum class DagShape { layered, wavefront };
const char* dag_shape_name(DagShape shape);
int dag_tasks(DagShape shape);

// The packed example of `shape`, its run arguments, and a bench chip whose AIV core count
// matches the TBB thread count.
Result<Bytes> dag_image(const std::filesystem::path& examples, DagShape shape = DagShape::layered);
RunArgs dag_args(DagShape shape = DagShape::layered);
ChipProfile dag_chip_profile();

// For each task of `shape` in submission order, the earlier tasks it must wait for.
std::vector<std::vector<uint32_t>> dag_predecessors(DagShape shape);

struct DagRig {
  std::shared_ptr<Device> device;
  std::unique_ptr<ChipWorker> worker;
  CallableId id = 0;
  // i32 [tasks of the shape, 2] in device memory: the marks a run's tasks leave. Last, so it
  // is freed before the worker and device go.
  DeviceTensor marks;

  // `args` with the marks as the run's "marks" device input.
  RunArgs marked(RunArgs args) const;
  // Zeroes the marks (before a run) / checks a run of `tasks` tasks left them (check_marks).
  Status clear_marks();
  Status check_marks(uint64_t tasks) const;
};
Result<DagRig> make_dag_rig(const std::filesystem::path& examples, RuntimeKind runtime,
                            DagShape shape = DagShape::layered, uint32_t ring_slots = 0);

using DagNode = tbb::flow::continue_node<tbb::flow::continue_msg>;
// Builds the DAG of `predecessors` in flow graph `g` (nodes owned by `nodes`); returns the
// roots. Edges are made once per (predecessor, task). With `marks` (2 per task), node i writes
// i into marks[2i] and counts its call in marks[2i + 1], as the mark kernel does.
std::vector<DagNode*> build_dag_flow_graph(tbb::flow::graph& g,
                                           std::vector<std::unique_ptr<DagNode>>& nodes,
                                           const std::vector<std::vector<uint32_t>>& predecessors,
                                           int32_t* marks = nullptr);

// The TBB floors of one shape, sample by sample, so they interleave with the runtime's samples:
// building and running the DAG, and re-running one already built. Microseconds per run. Each
// run's nodes leave marks (cleared before the timed part), checked by check_marks().
class TbbDag {
 public:
  explicit TbbDag(DagShape shape);
  ~TbbDag();
  double build_and_run_us();
  double rerun_us();
  int tasks() const { return static_cast<int>(predecessors_.size()); }
  Status check_marks() const;

 private:
  const std::vector<std::vector<uint32_t>> predecessors_;
  std::vector<int32_t> marks_;
  tbb::task_arena arena_;
  // The graph re-run by rerun_us(), built on first use.
  std::optional<tbb::flow::graph> built_;
  std::vector<std::unique_ptr<DagNode>> built_nodes_;
  std::vector<DagNode*> built_roots_;
};

}  // namespace chiprt::cli

#include "bench_dag.h"

#include <algorithm>
#include <span>

#include "bench_check.h"
#include "bench_timer.h"
#include "cli_common.h"

namespace chiprt::cli {

const char* dag_shape_name(DagShape shape) {
  return shape == DagShape::layered ? "layered DAG" : "tiled wavefront";
}

int dag_tasks(DagShape shape) {
  return shape == DagShape::layered ? kDagTasks : kWaveTasks;
}

std::vector<std::vector<uint32_t>> dag_predecessors(DagShape shape) {
  std::vector<std::vector<uint32_t>> preds(dag_tasks(shape));
  if (shape == DagShape::layered) {
    for (int l = 1; l < kDagLayers; ++l) {
      for (int w = 0; w < kDagWidth; ++w) {
        preds[l * kDagWidth + w] = {
            static_cast<uint32_t>((l - 1) * kDagWidth + w),
            static_cast<uint32_t>((l - 1) * kDagWidth + (w + 1) % kDagWidth)};
      }
    }
    return preds;
  }
  auto task = [](int s, int i, int j) {
    return static_cast<uint32_t>((s * kWaveTiles + i) * kWaveTiles + j);
  };
  for (int s = 0; s < kWaveSweeps; ++s) {
    for (int i = 0; i < kWaveTiles; ++i) {
      for (int j = 0; j < kWaveTiles; ++j) {
        std::vector<uint32_t>& p = preds[task(s, i, j)];
        if (i > 0) p.push_back(task(s, i - 1, j));  // RAW: the tile above, this sweep
        if (j > 0) p.push_back(task(s, i, j - 1));  // RAW: the tile to the left
        if (s == 0) continue;
        p.push_back(task(s - 1, i, j));                              // WAW: own tile
        if (i + 1 < kWaveTiles) p.push_back(task(s - 1, i + 1, j));  // WAR: its readers
        if (j + 1 < kWaveTiles) p.push_back(task(s - 1, i, j + 1));
      }
    }
  }
  return preds;
}

std::vector<DagNode*> build_dag_flow_graph(tbb::flow::graph& g,
                                           std::vector<std::unique_ptr<DagNode>>& nodes,
                                           const std::vector<std::vector<uint32_t>>& predecessors,
                                           int32_t* marks) {
  nodes.clear();
  nodes.reserve(predecessors.size());
  for (size_t i = 0; i < predecessors.size(); ++i) {
    nodes.push_back(std::make_unique<DagNode>(g, [marks, i](const tbb::flow::continue_msg&) {
      if (marks == nullptr) return;
      marks[2 * i] = static_cast<int32_t>(i);
      marks[2 * i + 1] += 1;
    }));
  }
  std::vector<DagNode*> roots;
  for (size_t i = 0; i < predecessors.size(); ++i) {
    if (predecessors[i].empty()) roots.push_back(nodes[i].get());
    for (uint32_t p : predecessors[i]) tbb::flow::make_edge(*nodes[p], *nodes[i]);
  }
  return roots;
}

Result<Bytes> dag_image(const std::filesystem::path& examples, DagShape shape) {
  return read_file(examples.parent_path() / (shape == DagShape::layered
                                                 ? "layered_dag.chipimg"
                                                 : "tiled_wavefront.chipimg"));
}

RunArgs dag_args(DagShape shape) {
  RunArgs args;
  HostTensor& t = args.tensors["t"];
  if (shape == DagShape::layered) {
    t.shape = {kDagLayers + 1, kDagWidth};
  } else {
    t.shape = {kWaveTiles * kWaveTileRows, kWaveTiles * kWaveTileCols};
    args.scalars["tiles"] = kWaveTiles;
    args.scalars["sweeps"] = kWaveSweeps;
  }
  t.data.resize(t.element_count() * sizeof(float));
  return args;
}

ChipProfile dag_chip_profile() {
  return ChipProfile{"bench", 1, kDagThreads, 1, 64, 64ull << 20};
}

Result<DagRig> make_dag_rig(const std::filesystem::path& examples, RuntimeKind runtime,
                            DagShape shape, uint32_t ring_slots) {
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, dag_image(examples, shape));
  DagRig rig;
  rig.device = create_sim_chip(dag_chip_profile(), 256ull << 20);
  WorkerOptions options;
  options.runtime = runtime;
  options.ring_slots = ring_slots;
  CHIPRT_ASSIGN_OR_RETURN(rig.worker, ChipWorker::create(rig.device, options));
  CHIPRT_ASSIGN_OR_RETURN(rig.id, rig.worker->register_callable(image));
  std::vector<int64_t> marks_shape = {dag_tasks(shape), 2};
  CHIPRT_ASSIGN_OR_RETURN(rig.marks,
                          rig.worker->alloc_tensor(CHIPRT_DTYPE_I32, std::move(marks_shape)));
  CHIPRT_RETURN_IF_ERROR(rig.clear_marks());
  return rig;
}

RunArgs DagRig::marked(RunArgs args) const {
  args.device_inputs["marks"] = marks.ref();
  return args;
}

Status DagRig::clear_marks() {
  const std::vector<int32_t> zeros(marks.element_count(), 0);
  return worker->copy_to_device(marks, std::as_bytes(std::span(zeros)));
}

Status DagRig::check_marks(uint64_t tasks) const {
  std::vector<int32_t> got(marks.element_count());
  CHIPRT_RETURN_IF_ERROR(worker->copy_from_device(marks, std::as_writable_bytes(std::span(got))));
  return cli::check_marks(got, tasks);
}

TbbDag::TbbDag(DagShape shape)
    : predecessors_(dag_predecessors(shape)),
      marks_(2 * predecessors_.size(), 0),
      arena_(kDagThreads) {}

Status TbbDag::check_marks() const {
  return cli::check_marks(marks_, predecessors_.size());
}

TbbDag::~TbbDag() {
  // The built graph's nodes belong to the arena's threads' work: tear down inside it.
  arena_.execute([&] {
    built_roots_.clear();
    built_nodes_.clear();
    built_.reset();
  });
}

double TbbDag::build_and_run_us() {
  double us = 0;
  std::fill(marks_.begin(), marks_.end(), 0);
  arena_.execute([&] {
    us = timed_us([&] {
      tbb::flow::graph g;
      std::vector<std::unique_ptr<DagNode>> nodes;
      for (DagNode* root : build_dag_flow_graph(g, nodes, predecessors_, marks_.data())) {
        root->try_put(tbb::flow::continue_msg());
      }
      g.wait_for_all();
    });
  });
  return us;
}

double TbbDag::rerun_us() {
  double us = 0;
  std::fill(marks_.begin(), marks_.end(), 0);
  arena_.execute([&] {
    if (!built_) {
      built_.emplace();
      built_roots_ = build_dag_flow_graph(*built_, built_nodes_, predecessors_, marks_.data());
    }
    us = timed_us([&] {
      for (DagNode* root : built_roots_) root->try_put(tbb::flow::continue_msg());
      built_->wait_for_all();
    });
  });
  return us;
}

}  // namespace chiprt::cli

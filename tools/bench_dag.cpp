#include "bench_dag.h"

#include <tbb/task_arena.h>

#include "bench_timer.h"
#include "cli_common.h"

namespace chiprt::cli {

std::vector<DagNode*> build_dag_flow_graph(tbb::flow::graph& g,
                                           std::vector<std::unique_ptr<DagNode>>& nodes) {
  nodes.clear();
  nodes.reserve(kDagTasks);
  for (int i = 0; i < kDagTasks; ++i) {
    nodes.push_back(std::make_unique<DagNode>(g, [](const tbb::flow::continue_msg&) {}));
  }
  for (int l = 1; l < kDagLayers; ++l) {
    for (int w = 0; w < kDagWidth; ++w) {
      tbb::flow::make_edge(*nodes[(l - 1) * kDagWidth + w], *nodes[l * kDagWidth + w]);
      tbb::flow::make_edge(*nodes[(l - 1) * kDagWidth + (w + 1) % kDagWidth],
                           *nodes[l * kDagWidth + w]);
    }
  }
  std::vector<DagNode*> roots;
  for (int w = 0; w < kDagWidth; ++w) roots.push_back(nodes[w].get());
  return roots;
}

Result<Bytes> dag_image(const std::filesystem::path& examples) {
  return read_file(examples.parent_path() / "layered_dag.chipimg");
}

RunArgs dag_args() {
  RunArgs args;
  HostTensor& t = args.tensors["t"];
  t.shape = {kDagLayers + 1, kDagWidth};
  t.data.resize((kDagLayers + 1) * kDagWidth * sizeof(float));
  return args;
}

ChipProfile dag_chip_profile() {
  return ChipProfile{"bench", 1, kDagThreads, 1, 64, 64ull << 20};
}

Result<DagRig> make_dag_rig(const std::filesystem::path& examples, RuntimeKind runtime,
                            uint32_t ring_slots) {
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, dag_image(examples));
  DagRig rig;
  rig.device = create_sim_chip(dag_chip_profile(), 256ull << 20);
  WorkerOptions options;
  options.runtime = runtime;
  options.ring_slots = ring_slots;
  CHIPRT_ASSIGN_OR_RETURN(rig.worker, ChipWorker::create(rig.device, options));
  CHIPRT_ASSIGN_OR_RETURN(rig.id, rig.worker->register_callable(image));
  return rig;
}

double tbb_build_and_run_ns_per_task(size_t iterations) {
  tbb::task_arena arena(kDagThreads);
  double us = 0;
  arena.execute([&] {
    us = median_us(iterations, [](size_t) {
      tbb::flow::graph g;
      std::vector<std::unique_ptr<DagNode>> nodes;
      for (DagNode* root : build_dag_flow_graph(g, nodes)) root->try_put(tbb::flow::continue_msg());
      g.wait_for_all();
    });
  });
  return us * 1000 / kDagTasks;
}

double tbb_rerun_ns_per_task(size_t iterations) {
  tbb::task_arena arena(kDagThreads);
  double us = 0;
  arena.execute([&] {
    tbb::flow::graph g;
    std::vector<std::unique_ptr<DagNode>> nodes;
    const std::vector<DagNode*> roots = build_dag_flow_graph(g, nodes);
    us = median_us(iterations, [&](size_t) {
      for (DagNode* root : roots) root->try_put(tbb::flow::continue_msg());
      g.wait_for_all();
    });
  });
  return us * 1000 / kDagTasks;
}

}  // namespace chiprt::cli

// Runtime dispatch benchmarks (Google Benchmark; not a test). A 1,000-task layered DAG of
// empty kernels (10 layers x 100, two predecessors per task) on a simulated chip with 2 AIV
// cores, against the same DAG in oneTBB flow_graph on a 2-thread arena:
//   tmr run            vs  TBB build + run (both build the dependency structure every time)
//   hbg steady replay  vs  TBB re-run of a built graph
// plus first-run / steady-run ratios. Ratios are printed after the benchmarks.
// CHIPRT_BENCH_RING_SLOTS overrides the tmr ring size (default: 64, the bench chip's profile).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <tbb/flow_graph.h>
#include <tbb/task_arena.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "chiprt/image.h"
#include "chiprt/worker.h"

namespace {

using namespace chiprt;
constexpr int kLayers = 10, kWidth = 100, kTasks = kLayers * kWidth, kThreads = 2;
std::map<std::string, double> g_ns_per_task;  // name -> mean ns per task

Bytes read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

Bytes dag_image() {
  static const Bytes orch =
      read_bytes(std::filesystem::path(CHIPRT_BENCH_SO_DIR) / "orch_layered_dag.so");
  static const Bytes kernel =
      read_bytes(std::filesystem::path(CHIPRT_BENCH_SO_DIR) / "kernel_empty.so");
  ImageSource source{orch, {{1, CoreType::aiv, kernel}}, "layered_dag"};
  return write_image(source).value();
}

RunArgs dag_args() {
  RunArgs args;
  args.tensors["t"].shape = {kLayers + 1, kWidth};
  args.tensors["t"].data.resize((kLayers + 1) * kWidth * sizeof(float));
  return args;
}

struct Rig {
  std::shared_ptr<Device> device;
  std::unique_ptr<ChipWorker> worker;
  CallableId id = 0;
};

Rig make_rig(RuntimeKind runtime) {
  // The bench chip: 2 AIV cores (matching TBB's 2 threads), 1 AIC, 1 AICPU.
  ChipProfile profile{"bench", 1, kThreads, 1, 64, 64ull << 20};
  Rig rig;
  rig.device = create_sim_chip(profile, 256ull << 20);
  WorkerOptions options;
  options.runtime = runtime;
  if (const char* slots = std::getenv("CHIPRT_BENCH_RING_SLOTS"))
    options.ring_slots = std::atoi(slots);
  rig.worker = ChipWorker::create(rig.device, options).value();
  rig.id = rig.worker->register_callable(dag_image()).value();
  return rig;
}

void record(benchmark::State& state, const std::string& name, double total_ns) {
  const double per_task = total_ns / static_cast<double>(state.iterations()) / kTasks;
  state.counters["ns_per_task"] = per_task;
  g_ns_per_task[name] = per_task;  // the last (longest) measurement of this benchmark
}

template <typename F>
double timed_ns(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

void BM_Runtime(benchmark::State& state, RuntimeKind runtime) {
  Rig rig = make_rig(runtime);
  const RunArgs args = dag_args();
  if (!rig.worker->run(rig.id, args).ok())
    state.SkipWithError("run failed");  // warm: threads, graph
  double total = 0;
  for (auto _ : state) {
    total += timed_ns([&] {
      auto report = rig.worker->run(rig.id, args);
      if (!report.ok() || report->tasks != kTasks) state.SkipWithError("run failed");
    });
  }
  record(state, fmt::format("{}", runtime_name(runtime)), total);
}
BENCHMARK_CAPTURE(BM_Runtime, tmr, RuntimeKind::tmr)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, hbg_replay, RuntimeKind::hbg)->UseRealTime();

// A fresh registration's first run against the steady runs that follow it.
void BM_FirstRun(benchmark::State& state, RuntimeKind runtime) {
  Rig rig = make_rig(runtime);
  const RunArgs args = dag_args();
  const Bytes image = dag_image();
  (void)rig.worker->run(rig.id, args);  // threads started once per worker
  (void)rig.worker->unregister_callable(rig.id);
  double first = 0, steady = 0;
  for (auto _ : state) {
    const CallableId id = rig.worker->register_callable(image).value();
    first += timed_ns([&] { (void)rig.worker->run(id, args); });
    for (int i = 0; i < 4; ++i) steady += timed_ns([&] { (void)rig.worker->run(id, args); }) / 4;
    (void)rig.worker->unregister_callable(id);
  }
  state.counters["first_over_steady"] = first / steady;
  g_ns_per_task[fmt::format("first_over_steady_{}", runtime_name(runtime))] = first / steady;
}
BENCHMARK_CAPTURE(BM_FirstRun, tmr, RuntimeKind::tmr)->UseRealTime()->Iterations(50);
BENCHMARK_CAPTURE(BM_FirstRun, hbg, RuntimeKind::hbg)->UseRealTime()->Iterations(50);

using Node = tbb::flow::continue_node<tbb::flow::continue_msg>;

// Builds the same layered DAG in a flow graph; returns the roots.
std::vector<Node*> build(tbb::flow::graph& g, std::vector<std::unique_ptr<Node>>& nodes) {
  nodes.clear();
  nodes.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) {
    nodes.push_back(std::make_unique<Node>(g, [](const tbb::flow::continue_msg&) {}));
  }
  for (int l = 1; l < kLayers; ++l) {
    for (int w = 0; w < kWidth; ++w) {
      tbb::flow::make_edge(*nodes[(l - 1) * kWidth + w], *nodes[l * kWidth + w]);
      tbb::flow::make_edge(*nodes[(l - 1) * kWidth + (w + 1) % kWidth], *nodes[l * kWidth + w]);
    }
  }
  std::vector<Node*> roots;
  for (int w = 0; w < kWidth; ++w) roots.push_back(nodes[w].get());
  return roots;
}

void BM_TbbBuildAndRun(benchmark::State& state) {
  tbb::task_arena arena(kThreads);
  double total = 0;
  for (auto _ : state) {
    arena.execute([&] {
      total += timed_ns([&] {
        tbb::flow::graph g;
        std::vector<std::unique_ptr<Node>> nodes;
        for (Node* root : build(g, nodes)) root->try_put(tbb::flow::continue_msg());
        g.wait_for_all();
      });
    });
  }
  record(state, "tbb_build_run", total);
}
BENCHMARK(BM_TbbBuildAndRun)->UseRealTime();

void BM_TbbRerun(benchmark::State& state) {
  tbb::task_arena arena(kThreads);
  arena.execute([&] {
    tbb::flow::graph g;
    std::vector<std::unique_ptr<Node>> nodes;
    const std::vector<Node*> roots = build(g, nodes);
    double total = 0;
    for (auto _ : state) {
      total += timed_ns([&] {
        for (Node* root : roots) root->try_put(tbb::flow::continue_msg());
        g.wait_for_all();
      });
    }
    record(state, "tbb_rerun", total);
  });
}
BENCHMARK(BM_TbbRerun)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto get = [](const char* k) { return g_ns_per_task.count(k) ? g_ns_per_task[k] : 0.0; };
  fmt::print("\n1,000-task layered DAG of empty kernels, {} threads (ns per task):\n", kThreads);
  fmt::print("  tmr run             {:8.1f}   / TBB build+run {:8.1f} = ratio {:.2f} (goal <= 2)\n",
             get("tmr"), get("tbb_build_run"), get("tmr") / get("tbb_build_run"));
  fmt::print("  hbg steady replay   {:8.1f}   / TBB build+run {:8.1f} = ratio {:.2f}\n", get("hbg"),
             get("tbb_build_run"), get("hbg") / get("tbb_build_run"));
  fmt::print("  hbg steady replay   {:8.1f}   / TBB re-run    {:8.1f} = ratio {:.2f}\n", get("hbg"),
             get("tbb_rerun"), get("hbg") / get("tbb_rerun"));
  fmt::print("  tmr run             {:8.1f}   / TBB re-run    {:8.1f} = ratio {:.2f}\n", get("tmr"),
             get("tbb_rerun"), get("tmr") / get("tbb_rerun"));
  fmt::print(
      "  first / steady run: tmr {:.2f} (goal <= 1.2), hbg {:.2f} (first run records the graph)\n",
      get("first_over_steady_tmr"), get("first_over_steady_hbg"));
  return 0;
}

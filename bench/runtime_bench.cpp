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
#include <map>
#include <vector>

#include "bench_dag.h"
#include "chiprt/worker.h"

namespace {

using namespace chiprt;
std::map<std::string, double> g_ns_per_task;  // name -> mean ns per task

using cli::kDagTasks;
constexpr int kTasks = kDagTasks, kThreads = cli::kDagThreads;

cli::DagRig make_rig(RuntimeKind runtime) {
  const char* slots = std::getenv("CHIPRT_BENCH_RING_SLOTS");
  return std::move(cli::make_dag_rig(CHIPRT_EXAMPLES_SO_DIR, runtime, slots ? std::atoi(slots) : 0))
      .value();
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
  cli::DagRig rig = make_rig(runtime);
  const RunArgs args = cli::dag_args();
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
  cli::DagRig rig = make_rig(runtime);
  const RunArgs args = cli::dag_args();
  const Bytes image = std::move(cli::dag_image(CHIPRT_EXAMPLES_SO_DIR)).value();
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

void BM_TbbBuildAndRun(benchmark::State& state) {
  tbb::task_arena arena(kThreads);
  double total = 0;
  for (auto _ : state) {
    arena.execute([&] {
      total += timed_ns([&] {
        tbb::flow::graph g;
        std::vector<std::unique_ptr<cli::DagNode>> nodes;
        for (cli::DagNode* root : cli::build_dag_flow_graph(g, nodes))
          root->try_put(tbb::flow::continue_msg());
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
    std::vector<std::unique_ptr<cli::DagNode>> nodes;
    const std::vector<cli::DagNode*> roots = cli::build_dag_flow_graph(g, nodes);
    double total = 0;
    for (auto _ : state) {
      total += timed_ns([&] {
        for (cli::DagNode* root : roots) root->try_put(tbb::flow::continue_msg());
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

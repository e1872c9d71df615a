// Runtime dispatch benchmarks (Google Benchmark; not a test). The two 1,000-task DAGs of
// `chiprt bench` (tools/bench_dag.h: a layered DAG of single elements and a wavefront over tiles
// of one tensor) on a simulated chip with 2 AIV cores, against the same DAGs in oneTBB
// flow_graph on a 2-thread arena:
//   tmr run            vs  TBB build + run (both build the dependency structure every time)
//   hbg steady replay  vs  TBB re-run of a built graph
// plus first-run / steady-run ratios. Ratios are printed after the benchmarks. (`chiprt bench`
// samples each against its floor in turns; here each is measured on its own.)
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

using cli::DagShape;
constexpr int kThreads = cli::kDagThreads;

cli::DagRig make_rig(RuntimeKind runtime, DagShape shape = DagShape::layered) {
  const char* slots = std::getenv("CHIPRT_BENCH_RING_SLOTS");
  return std::move(cli::make_dag_rig(CHIPRT_EXAMPLES_SO_DIR, runtime, shape,
                                     slots ? std::atoi(slots) : 0))
      .value();
}

std::string key(std::string_view what, DagShape shape) {
  return fmt::format("{}_{}", what, shape == DagShape::layered ? "layered" : "wavefront");
}

void record(benchmark::State& state, const std::string& name, double total_ns, int tasks) {
  const double per_task = total_ns / static_cast<double>(state.iterations()) / tasks;
  state.counters["ns_per_task"] = per_task;
  g_ns_per_task[name] = per_task;  // the last (longest) measurement of this benchmark
}

template <typename F>
double timed_ns(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
}

void BM_Runtime(benchmark::State& state, RuntimeKind runtime, DagShape shape) {
  cli::DagRig rig = make_rig(runtime, shape);
  const RunArgs args = cli::dag_args(shape);
  const int tasks = cli::dag_tasks(shape);
  if (!rig.worker->run(rig.id, args).ok())
    state.SkipWithError("run failed");  // warm: threads, graph
  double total = 0;
  for (auto _ : state) {
    total += timed_ns([&] {
      auto report = rig.worker->run(rig.id, args);
      if (!report.ok() || report->tasks != static_cast<uint64_t>(tasks))
        state.SkipWithError("run failed");
    });
  }
  record(state, key(runtime_name(runtime), shape), total, tasks);
}
BENCHMARK_CAPTURE(BM_Runtime, tmr, RuntimeKind::tmr, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, hbg_replay, RuntimeKind::hbg, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, tmr_wavefront, RuntimeKind::tmr, DagShape::wavefront)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, hbg_wavefront, RuntimeKind::hbg, DagShape::wavefront)->UseRealTime();

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

void BM_TbbBuildAndRun(benchmark::State& state, DagShape shape) {
  cli::TbbDag tbb(shape);
  double total = 0;
  for (auto _ : state) total += tbb.build_and_run_us() * 1000;
  record(state, key("tbb_build_run", shape), total, tbb.tasks());
}
BENCHMARK_CAPTURE(BM_TbbBuildAndRun, layered, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_TbbBuildAndRun, wavefront, DagShape::wavefront)->UseRealTime();

void BM_TbbRerun(benchmark::State& state, DagShape shape) {
  cli::TbbDag tbb(shape);
  double total = 0;
  for (auto _ : state) total += tbb.rerun_us() * 1000;
  record(state, key("tbb_rerun", shape), total, tbb.tasks());
}
BENCHMARK_CAPTURE(BM_TbbRerun, layered, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_TbbRerun, wavefront, DagShape::wavefront)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  auto get = [](const std::string& k) { return g_ns_per_task.count(k) ? g_ns_per_task[k] : 0.0; };
  for (DagShape shape : {DagShape::layered, DagShape::wavefront}) {
    const double tmr = get(key("tmr", shape)), hbg = get(key("hbg", shape));
    const double build = get(key("tbb_build_run", shape)), rerun = get(key("tbb_rerun", shape));
    fmt::print("\n1,000-task {} of empty kernels, {} threads (ns per task):\n",
               cli::dag_shape_name(shape), kThreads);
    fmt::print(
        "  tmr run             {:8.1f}   / TBB build+run {:8.1f} = ratio {:.2f} (goal <= 1.5)\n",
        tmr, build, tmr / build);
    fmt::print(
        "  hbg steady replay   {:8.1f}   / TBB re-run    {:8.1f} = ratio {:.2f} (goal <= 1.5)\n",
        hbg, rerun, hbg / rerun);
  }
  fmt::print(
      "  first / steady run: tmr {:.2f} (goal <= 1.2), hbg {:.2f} (first run records the graph)\n",
      get("first_over_steady_tmr"), get("first_over_steady_hbg"));
  return 0;
}

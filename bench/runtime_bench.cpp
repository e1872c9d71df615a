// Runtime dispatch benchmarks (Google Benchmark; not a test). The two 1,000-task DAGs of
// `chiprt bench` (tools/bench_dag.h: a layered DAG of single elements and a wavefront over tiles
// of one tensor) on a simulated chip with 2 AIV cores, against the same DAGs in oneTBB
// flow_graph on a 2-thread arena:
//   tmr run            vs  TBB build + run (both build the dependency structure every time)
//   hbg steady replay  vs  TBB re-run of a built graph
// plus first-run / steady-run ratios. Ratios are printed after the benchmarks. (`chiprt bench`
// samples each against its floor in turns; here each is measured on its own.) As in `chiprt
// bench`, every task of every run, and every node of the floors, leaves a mark that is checked
// after each timed run (untimed): a benchmark whose work was skipped reports an error, no time.
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

// A run's kernels leave marks (tools/bench_dag.h: each task its id in its own row, and a call
// count), cleared before and checked after every timed run, outside the timing: a run that
// skipped, repeated or misrouted a task ends the benchmark with an error instead of a time.
// `timed`: inside the benchmark loop (a warm-up run before it is not timed at all).
bool checked_run(benchmark::State& state, cli::DagRig& rig, CallableId id, const RunArgs& args,
                 int tasks, double& total_ns, bool timed = true) {
  if (timed) state.PauseTiming();
  Status cleared = rig.clear_marks();
  if (timed) state.ResumeTiming();
  Result<RunReport> report = Status(StatusCode::internal, "not run");
  total_ns += timed_ns([&] { report = rig.worker->run(id, args); });
  if (timed) state.PauseTiming();
  Status status = !cleared.ok() ? cleared : report.status();
  if (status.ok() && report->tasks != static_cast<uint64_t>(tasks)) {
    status = Status(StatusCode::internal,
                    fmt::format("the run reported {} tasks, not {}", report->tasks, tasks));
  }
  if (status.ok()) status = rig.check_marks(static_cast<uint64_t>(tasks));
  if (timed) state.ResumeTiming();
  if (!status.ok()) state.SkipWithError(status.to_string().c_str());
  return status.ok();
}

void BM_Runtime(benchmark::State& state, RuntimeKind runtime, DagShape shape) {
  cli::DagRig rig = make_rig(runtime, shape);
  const RunArgs args = rig.marked(cli::dag_args(shape));
  const int tasks = cli::dag_tasks(shape);
  double total = 0;
  if (!checked_run(state, rig, rig.id, args, tasks, total, false)) return;  // warm: threads, graph
  total = 0;
  for (auto _ : state) {
    if (!checked_run(state, rig, rig.id, args, tasks, total)) break;
  }
  record(state, key(runtime_name(runtime), shape), total, tasks);
}
BENCHMARK_CAPTURE(BM_Runtime, tmr, RuntimeKind::tmr, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, hbg_replay, RuntimeKind::hbg, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, tmr_wavefront, RuntimeKind::tmr, DagShape::wavefront)->UseRealTime();
BENCHMARK_CAPTURE(BM_Runtime, hbg_wavefront, RuntimeKind::hbg, DagShape::wavefront)->UseRealTime();

// A fresh registration's first run against the steady runs that follow it; every run checked.
void BM_FirstRun(benchmark::State& state, RuntimeKind runtime) {
  cli::DagRig rig = make_rig(runtime);
  const RunArgs args = rig.marked(cli::dag_args());
  const int tasks = cli::dag_tasks(DagShape::layered);
  const Bytes image = std::move(cli::dag_image(CHIPRT_EXAMPLES_SO_DIR)).value();
  double first = 0, steady = 0, warm = 0;
  if (!checked_run(state, rig, rig.id, args, tasks, warm, false)) return;  // threads start once
  (void)rig.worker->unregister_callable(rig.id);
  for (auto _ : state) {
    auto id = rig.worker->register_callable(image);
    if (!id.ok()) {
      state.SkipWithError(id.status().to_string().c_str());
      break;
    }
    bool ok = checked_run(state, rig, *id, args, tasks, first);
    double steady_ns = 0;
    for (int i = 0; ok && i < 4; ++i) ok = checked_run(state, rig, *id, args, tasks, steady_ns);
    steady += steady_ns / 4;
    (void)rig.worker->unregister_callable(*id);
    if (!ok) break;
  }
  state.counters["first_over_steady"] = first / steady;
  g_ns_per_task[fmt::format("first_over_steady_{}", runtime_name(runtime))] = first / steady;
}
BENCHMARK_CAPTURE(BM_FirstRun, tmr, RuntimeKind::tmr)->UseRealTime()->Iterations(50);
BENCHMARK_CAPTURE(BM_FirstRun, hbg, RuntimeKind::hbg)->UseRealTime()->Iterations(50);

// The floors' nodes leave the same marks, checked after every timed run.
bool checked_floor(benchmark::State& state, const cli::TbbDag& tbb) {
  state.PauseTiming();
  const Status marks = tbb.check_marks();
  state.ResumeTiming();
  if (!marks.ok()) state.SkipWithError(marks.to_string().c_str());
  return marks.ok();
}

void BM_TbbBuildAndRun(benchmark::State& state, DagShape shape) {
  cli::TbbDag tbb(shape);
  double total = 0;
  for (auto _ : state) {
    total += tbb.build_and_run_us() * 1000;
    if (!checked_floor(state, tbb)) break;
  }
  record(state, key("tbb_build_run", shape), total, tbb.tasks());
}
BENCHMARK_CAPTURE(BM_TbbBuildAndRun, layered, DagShape::layered)->UseRealTime();
BENCHMARK_CAPTURE(BM_TbbBuildAndRun, wavefront, DagShape::wavefront)->UseRealTime();

void BM_TbbRerun(benchmark::State& state, DagShape shape) {
  cli::TbbDag tbb(shape);
  double total = 0;
  for (auto _ : state) {
    total += tbb.rerun_us() * 1000;
    if (!checked_floor(state, tbb)) break;
  }
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

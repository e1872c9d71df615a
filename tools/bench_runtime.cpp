#include "bench_runtime.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "bench_dag.h"
#include "chiprt/worker.h"
#include "cli_common.h"
#include "echo_peer.h"
#include "example_images.h"

namespace chiprt::cli {
namespace {

double elapsed_us(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
      .count();
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// First run of a fresh registration vs later runs of the same one (tmr, vector example).
Result<BenchResult> first_vs_steady(const std::filesystem::path& examples, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images,
                          make_distinct_images(parts, iterations, "first"));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 512ull << 20);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  const RunArgs args = vector_run_args(128, 1024);
  std::vector<double> first, steady;
  for (const Bytes& image : images) {
    CHIPRT_ASSIGN_OR_RETURN(CallableId id, worker->register_callable(image));
    auto start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(worker->run(id, args).status());
    first.push_back(elapsed_us(start));
    start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(worker->run(id, args).status());
    steady.push_back(elapsed_us(start));
    CHIPRT_RETURN_IF_ERROR(worker->unregister_callable(id));
  }
  return BenchResult{"first run of a new registration (tmr, us)", "steady run of the same callable",
                     median(first), median(steady), 1.2};
}

// Median microseconds of a steady run of the DAG on `runtime` (hbg: a replay of the recorded
// graph), after one warm-up run.
Result<double> dag_run_us(const std::filesystem::path& examples, RuntimeKind runtime,
                          size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  const RunArgs args = dag_args();
  CHIPRT_RETURN_IF_ERROR(rig.worker->run(rig.id, args).status());
  Status failure;
  const double us = median_us(iterations, [&](size_t) {
    auto report = rig.worker->run(rig.id, args);
    if (!report.ok() && failure.ok()) failure = report.status();
  });
  CHIPRT_RETURN_IF_ERROR(failure);
  return us;
}

// The layered DAG cut down to one task: t [2, 1], one layer of width 1.
RunArgs one_task_args() {
  RunArgs args = dag_args();
  HostTensor t;
  t.dtype = CHIPRT_DTYPE_F32;
  t.shape = {2, 1};
  t.data.resize(2 * sizeof(float));
  args.tensors["t"] = std::move(t);
  args.scalars["layers"] = 1;
  args.scalars["width"] = 1;
  return args;
}

// Launch latency: a one-task callable's steady run against a bare round trip between two
// processes over a socketpair, sampled in turns (A B A B ...) so both see the same machine.
Result<BenchResult> launch_latency(const std::filesystem::path& examples, RuntimeKind runtime,
                                   size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(EchoPeer peer, EchoPeer::start());
  const RunArgs args = one_task_args();
  CHIPRT_RETURN_IF_ERROR(rig.worker->run(rig.id, args).status());  // warm-up (hbg: records)
  std::vector<double> runs, trips;
  for (size_t i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(rig.worker->run(rig.id, args).status());
    runs.push_back(elapsed_us(start));
    start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(peer.round_trip());
    trips.push_back(elapsed_us(start));
  }
  return BenchResult{fmt::format("{} one-task launch, steady (us)", runtime_name(runtime)),
                     "round trip to a second process", median(runs), median(trips), 3.0};
}

// First run of a new registration of a one-task callable against its steady run. Each sample
// registers the image anew (unregistered before, so its buffer and, on hbg, its graph are new).
Result<BenchResult> first_vs_steady_one_task(const std::filesystem::path& examples,
                                             RuntimeKind runtime, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, dag_image(examples));
  CHIPRT_RETURN_IF_ERROR(rig.worker->unregister_callable(rig.id));
  const RunArgs args = one_task_args();
  std::vector<double> first, steady;
  for (size_t i = 0; i < iterations; ++i) {
    CHIPRT_ASSIGN_OR_RETURN(CallableId id, rig.worker->register_callable(image));
    auto start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(rig.worker->run(id, args).status());
    first.push_back(elapsed_us(start));
    start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(rig.worker->run(id, args).status());
    steady.push_back(elapsed_us(start));
    CHIPRT_RETURN_IF_ERROR(rig.worker->unregister_callable(id));
  }
  return BenchResult{fmt::format("{} one-task first run (us)", runtime_name(runtime)),
                     "steady run of the same registration", median(first), median(steady), 1.2};
}

}  // namespace

Result<std::vector<BenchResult>> bench_runtime(const std::filesystem::path& examples,
                                               size_t iterations) {
  std::vector<BenchResult> results;
  CHIPRT_ASSIGN_OR_RETURN(BenchResult first, first_vs_steady(examples, iterations));
  results.push_back(first);
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    CHIPRT_ASSIGN_OR_RETURN(BenchResult launch, launch_latency(examples, runtime, iterations));
    results.push_back(launch);
    CHIPRT_ASSIGN_OR_RETURN(BenchResult first_one,
                            first_vs_steady_one_task(examples, runtime, iterations));
    results.push_back(first_one);
  }
  // Per-task dispatch: the 1,000-task DAG of empty kernels against oneTBB flow_graph.
  const double per_task = 1000.0 / kDagTasks;  // us per run -> ns per task
  CHIPRT_ASSIGN_OR_RETURN(double tmr_us, dag_run_us(examples, RuntimeKind::tmr, iterations));
  CHIPRT_ASSIGN_OR_RETURN(double hbg_us, dag_run_us(examples, RuntimeKind::hbg, iterations));
  const double tbb_build_ns = tbb_build_and_run_ns_per_task(iterations);
  const double tbb_rerun_ns = tbb_rerun_ns_per_task(iterations);
  results.push_back({"tmr 1,000-task DAG (ns/task)", "oneTBB flow_graph build + run",
                     tmr_us * per_task, tbb_build_ns, 2.0});
  results.push_back({"hbg replay of the DAG (ns/task)", "oneTBB flow_graph re-run",
                     hbg_us * per_task, tbb_rerun_ns, 2.0});
  return results;
}

}  // namespace chiprt::cli

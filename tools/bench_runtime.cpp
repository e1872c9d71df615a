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

// Keeps the first failure of a sample (samples return numbers, not statuses).
struct FirstFailure {
  Status status;
  void keep(const Status& s) {
    if (!s.ok() && status.ok()) status = s;
  }
};

// First run of a fresh registration vs the steady run after it (tmr, vector example).
Result<BenchResult> first_vs_steady(const std::filesystem::path& examples, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  // One image per pair plus the warm-up pair.
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images,
                          make_distinct_images(parts, iterations + 1, "first"));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 512ull << 20);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  const RunArgs args = vector_run_args(128, 1024);
  FirstFailure failure;
  CallableId id = 0;
  size_t next_image = 0;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        auto registered = worker->register_callable(images[next_image++]);
        failure.keep(registered.status());
        if (!registered.ok()) return 0.0;
        id = *registered;
        return timed_us([&] { failure.keep(worker->run(id, args).status()); });
      },
      [&](size_t) {
        const double us = timed_us([&] { failure.keep(worker->run(id, args).status()); });
        failure.keep(worker->unregister_callable(id));
        return us;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from("first run of a new registration (tmr, us)",
                           "steady run of the same callable", "us", samples, 1.2);
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
// processes over a socketpair.
Result<BenchResult> launch_latency(const std::filesystem::path& examples, RuntimeKind runtime,
                                   size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(EchoPeer peer, EchoPeer::start());
  const RunArgs args = one_task_args();
  FirstFailure failure;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        return timed_us([&] { failure.keep(rig.worker->run(rig.id, args).status()); });
      },
      [&](size_t) { return timed_us([&] { failure.keep(peer.round_trip()); }); });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from(fmt::format("{} one-task launch, steady (us)", runtime_name(runtime)),
                           "round trip to a second process", "us", samples, 3.0);
}

// First run of a new registration of a one-task callable against its steady run. Each pair
// registers the image anew (unregistered before, so its buffer and, on hbg, its graph are new).
Result<BenchResult> first_vs_steady_one_task(const std::filesystem::path& examples,
                                             RuntimeKind runtime, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, dag_image(examples));
  CHIPRT_RETURN_IF_ERROR(rig.worker->unregister_callable(rig.id));
  const RunArgs args = one_task_args();
  FirstFailure failure;
  CallableId id = 0;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        auto registered = rig.worker->register_callable(image);
        failure.keep(registered.status());
        if (!registered.ok()) return 0.0;
        id = *registered;
        return timed_us([&] { failure.keep(rig.worker->run(id, args).status()); });
      },
      [&](size_t) {
        const double us = timed_us([&] { failure.keep(rig.worker->run(id, args).status()); });
        failure.keep(rig.worker->unregister_callable(id));
        return us;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from(fmt::format("{} one-task first run (us)", runtime_name(runtime)),
                           "steady run of the same registration", "us", samples, 1.2);
}

// Per-task dispatch: steady runs of `shape` on `runtime` (hbg: replays of the recorded graph)
// against TBB: tmr builds its dependencies every run, as TBB's build + run does; an hbg replay
// follows recorded edges, as TBB's re-run of a built graph does.
Result<BenchResult> dispatch(const std::filesystem::path& examples, RuntimeKind runtime,
                             DagShape shape, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime, shape));
  const RunArgs args = dag_args(shape);
  TbbDag tbb(shape);
  FirstFailure failure;
  const bool rebuilds = runtime == RuntimeKind::tmr;
  const PairedSamples us = interleave(
      iterations,
      [&](size_t) {
        return timed_us([&] {
          auto report = rig.worker->run(rig.id, args);
          failure.keep(report.status());
          if (report.ok() && report->tasks != static_cast<uint64_t>(dag_tasks(shape))) {
            failure.keep(
                Status(StatusCode::internal,
                       fmt::format("{} tasks ran, not {}", report->tasks, dag_tasks(shape))));
          }
        });
      },
      [&](size_t) { return rebuilds ? tbb.build_and_run_us() : tbb.rerun_us(); }, 2);
  CHIPRT_RETURN_IF_ERROR(failure.status);
  const double ns_per_task = 1000.0 / dag_tasks(shape);
  // The names are what scripts select results by: keep "tmr" + "DAG" and "hbg" + "replay" for
  // the layered DAG alone.
  std::string name;
  if (shape == DagShape::layered) {
    name = rebuilds ? "tmr 1,000-task DAG (ns/task)" : "hbg replay of the DAG (ns/task)";
  } else {
    name = fmt::format("{} tiled wavefront, 1,000 tasks (ns/task)", runtime_name(runtime));
  }
  const std::string floor =
      fmt::format("oneTBB flow_graph {} ({})", rebuilds ? "build + run" : "re-run",
                  shape == DagShape::layered ? "same DAG" : "same wavefront");
  return BenchResult::from(name, floor, "ns_per_task", us.scaled(ns_per_task, ns_per_task), 1.5);
}

RunArgs attention_args() {
  RunArgs args;
  uint32_t seed = 12345;  // any fixed data: the kernels' time does not depend on it
  for (const char* name : {"q", "k", "v"}) {
    HostTensor& t = args.tensors[name];
    t.shape = {kAttentionRows, kAttentionDim};
    t.data.resize(t.element_count() * sizeof(float));
    for (uint64_t i = 0; i < t.element_count(); ++i) {
      seed = seed * 1664525u + 1013904223u;
      const float x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
      std::memcpy(t.data.data() + i * sizeof(float), &x, sizeof(float));
    }
  }
  args.scalars["tile"] = static_cast<double>(kAttentionTile);
  return args;
}

// The runtime's share of the attention example's run time at small tiles (tmr).
//
// Method: the chip runs its cores on ONE execution thread, so a run's kernels execute one after
// another and the run's wall time is their summed time plus everything else (host launch path,
// input and output copies, orchestration, dependency tracking, dispatch, completion). Each
// pair is a traced run, whose trace gives each kernel's own begin-end time on the device (the
// sum is the floor: "kernel time"), then an untraced run, whose wall time on the host is the
// measured "run time" (the trace's clock reads are not in it). ratio = run / kernel time and
// runtime share = 1 - kernel time / run time = 1 - 1 / ratio, also reported with its IQR.
Result<BenchResult> attention_share(const std::filesystem::path& examples, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, read_file(examples.parent_path() / "attention.chipimg"));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  SimChipOptions serial;
  serial.execution_threads = 1;
  auto device = create_sim_chip(profile, 256ull << 20, serial);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  CHIPRT_ASSIGN_OR_RETURN(CallableId id, worker->register_callable(image));
  const RunArgs args = attention_args();
  RunArgs traced = args;
  traced.trace = true;
  FirstFailure failure;
  uint64_t tasks = 0;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) { return timed_us([&] { failure.keep(worker->run(id, args).status()); }); },
      [&](size_t) {
        auto report = worker->run(id, traced);
        failure.keep(report.status());
        if (!report.ok()) return 0.0;
        tasks = report->tasks;
        double kernels = 0;
        for (const TaskTrace& slice : report->trace) kernels += slice.end_us - slice.start_us;
        return kernels;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  BenchResult result =
      BenchResult::from(fmt::format("tmr attention {}x{}, tile {} ({} tasks, run us)",
                                    kAttentionRows, kAttentionDim, kAttentionTile, tasks),
                        "its kernels' own time (trace, 1 execution thread)", "us", samples, 2.0);
  auto share = [](double ratio) { return ratio > 0 ? 1 - 1 / ratio : 0; };
  result.extra["runtime_share"] = share(result.ratio);
  result.extra["runtime_share_q1"] = share(result.ratio_q1);
  result.extra["runtime_share_q3"] = share(result.ratio_q3);
  return result;
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
  for (DagShape shape : {DagShape::layered, DagShape::wavefront}) {
    for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      CHIPRT_ASSIGN_OR_RETURN(BenchResult r, dispatch(examples, runtime, shape, iterations));
      results.push_back(std::move(r));
    }
  }
  CHIPRT_ASSIGN_OR_RETURN(BenchResult share, attention_share(examples, iterations));
  results.push_back(std::move(share));
  return results;
}

}  // namespace chiprt::cli

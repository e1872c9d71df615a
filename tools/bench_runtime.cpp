#include "bench_runtime.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "bench_check.h"
#include "bench_dag.h"
#include "chiprt/worker.h"
#include "cli_common.h"
#include "echo_peer.h"
#include "example_images.h"
#include "interval_union.h"

namespace chiprt::cli {
namespace {

// Keeps the first failure of a sample (samples return numbers, not statuses): a failed run, or
// a check of what a run produced. Either voids the record.
struct FirstFailure {
  Status status;
  void keep(const Status& s) {
    if (!s.ok() && status.ok()) status = s;
  }
};

// The vector example's output of a run checked against its golden value.
Status check_vector(const Result<RunReport>& report, uint64_t elements) {
  if (!report.ok()) return report.status();
  if (is_vector_golden(*report, elements)) return Status::Ok();
  return Status(StatusCode::internal, "the vector example's output f is not its golden 47");
}

// First run of a fresh registration vs the steady run after it (tmr, vector example).
Result<BenchResult> first_vs_steady(const std::string& name, const std::filesystem::path& examples,
                                    size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  // One image per pair plus the warm-up pair.
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images,
                          make_distinct_images(parts, iterations + 1, "first"));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 512ull << 20);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  constexpr int64_t kRows = 128, kCols = 1024;
  const RunArgs args = vector_run_args(kRows, kCols);
  FirstFailure failure;
  CallableId id = 0;
  size_t next_image = 0;
  // Every run's output is checked after its timed part (the previous report is freed inside
  // it, as a discarded report was).
  Result<RunReport> report = Status(StatusCode::internal, "no run");
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        auto registered = worker->register_callable(images[next_image++]);
        failure.keep(registered.status());
        if (!registered.ok()) return 0.0;
        id = *registered;
        const double us = timed_us([&] { report = worker->run(id, args); });
        failure.keep(check_vector(report, kRows * kCols));
        return us;
      },
      [&](size_t) {
        const double us = timed_us([&] { report = worker->run(id, args); });
        failure.keep(check_vector(report, kRows * kCols));
        failure.keep(worker->unregister_callable(id));
        return us;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from(name, "steady run of the same callable", "us", samples, 1.2);
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

// One timed run of `args` (marked with rig's marks) on the rig's callable: the marks are cleared
// before it and checked after it, outside the timed part.
double marked_run_us(DagRig& rig, const RunArgs& args, uint64_t tasks, FirstFailure& failure) {
  failure.keep(rig.clear_marks());
  const double us = timed_us([&] { failure.keep(rig.worker->run(rig.id, args).status()); });
  failure.keep(rig.check_marks(tasks));
  return us;
}

// Launch latency: a one-task callable's steady run against a bare round trip between two
// processes over a socketpair.
Result<BenchResult> launch_latency(const std::string& name, const std::filesystem::path& examples,
                                   RuntimeKind runtime, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(EchoPeer peer, EchoPeer::start());
  const RunArgs args = rig.marked(one_task_args());
  FirstFailure failure;
  auto round_trip = [&](size_t) { return timed_us([&] { failure.keep(peer.round_trip()); }); };
  const PairedSamples samples = interleave(
      iterations, [&](size_t) { return marked_run_us(rig, args, 1, failure); }, round_trip);
  CHIPRT_RETURN_IF_ERROR(failure.status);
  CHIPRT_ASSIGN_OR_RETURN(const std::vector<double> alone,
                          sample_alone(*rig.device, iterations, round_trip));
  CHIPRT_RETURN_IF_ERROR(failure.status);  // the round trips alone are checked too
  return BenchResult::from(name, "round trip to a second process", "us", samples, 3.0)
      .with_floor_alone(alone);
}

// First run of a new registration of a one-task callable against its steady run. Each pair
// registers the image anew (unregistered before, so its buffer and, on hbg, its graph are new).
Result<BenchResult> first_vs_steady_one_task(const std::string& name,
                                             const std::filesystem::path& examples,
                                             RuntimeKind runtime, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime));
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, dag_image(examples));
  CHIPRT_RETURN_IF_ERROR(rig.worker->unregister_callable(rig.id));
  const RunArgs args = rig.marked(one_task_args());
  FirstFailure failure;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        auto registered = rig.worker->register_callable(image);
        failure.keep(registered.status());
        if (!registered.ok()) return 0.0;
        rig.id = *registered;
        return marked_run_us(rig, args, 1, failure);
      },
      [&](size_t) {
        const double us = marked_run_us(rig, args, 1, failure);
        failure.keep(rig.worker->unregister_callable(rig.id));
        return us;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from(name, "steady run of the same registration", "us", samples, 1.2);
}

// Per-task dispatch: steady runs of `shape` on `runtime` (hbg: replays of the recorded graph)
// against TBB: tmr builds its dependencies every run, as TBB's build + run does; an hbg replay
// follows recorded edges, as TBB's re-run of a built graph does.
Result<BenchResult> dispatch(const std::string& name, const std::filesystem::path& examples,
                             RuntimeKind runtime, DagShape shape, size_t iterations) {
  const bool rebuilds = runtime == RuntimeKind::tmr;
  CHIPRT_ASSIGN_OR_RETURN(DagRig rig, make_dag_rig(examples, runtime, shape));
  const RunArgs args = rig.marked(dag_args(shape));
  const uint64_t tasks = static_cast<uint64_t>(dag_tasks(shape));
  TbbDag tbb(shape);
  FirstFailure failure;
  // Both sides leave a mark per task, checked after every sample outside its timed part: a
  // runtime that skipped, repeated or misrouted a task fails the record.
  auto floor_us = [&](size_t) {
    const double us = rebuilds ? tbb.build_and_run_us() : tbb.rerun_us();
    failure.keep(tbb.check_marks().annotate("oneTBB floor"));
    return us;
  };
  const PairedSamples us = interleave(
      iterations, [&](size_t) { return marked_run_us(rig, args, tasks, failure); }, floor_us, 2);
  CHIPRT_RETURN_IF_ERROR(failure.status);
  CHIPRT_ASSIGN_OR_RETURN(const std::vector<double> alone,
                          sample_alone(*rig.device, iterations, floor_us));
  CHIPRT_RETURN_IF_ERROR(failure.status);  // the floor alone checks its marks too
  const double ns_per_task = 1000.0 / static_cast<double>(tasks);
  const std::string floor =
      fmt::format("oneTBB flow_graph {} ({})", rebuilds ? "build + run" : "re-run",
                  shape == DagShape::layered ? "same DAG" : "same wavefront");
  return BenchResult::from(name, floor, "ns_per_task", us.scaled(ns_per_task, ns_per_task), 1.5)
      .with_floor_alone(alone, ns_per_task);
}

RunArgs attention_args() {
  RunArgs args;
  uint32_t seed = 12345;  // any fixed data: the kernels' time does not depend on it, and the
                          // output is checked against attention_reference
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
// another and the run's wall time is their time plus everything else (host launch path, input
// and output copies, orchestration, dependency tracking, dispatch, completion). Each pair is an
// untraced run, whose wall time on the host is the measured "run time" (the trace's clock reads
// are not in it), then a traced run, whose trace gives each kernel's own begin-end interval on
// the device; the floor, "kernel time", is the length of the union of those intervals (a sum
// would count twice any stretch where kernels overlap, were there more execution threads).
// ratio = run / kernel time and runtime share = 1 - kernel time / run time = 1 - 1 / ratio,
// also reported with its IQR. Every run's output is checked against a double-precision
// reference.
Result<BenchResult> attention_share(const std::string& name, const std::filesystem::path& examples,
                                    size_t iterations) {
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
  const std::vector<double> want =
      attention_reference(args.tensors.at("q"), args.tensors.at("k"), args.tensors.at("v"));
  FirstFailure failure;
  uint64_t tasks = 0;
  auto check = [&](const Result<RunReport>& report) {
    if (!report.ok()) return report.status();
    auto out = report->outputs.find("out");
    if (out == report->outputs.end()) {
      return Status(StatusCode::internal, "the attention run has no output out");
    }
    return check_close(out->second, want, 1e-4, "attention output out");
  };
  Result<RunReport> report = Status(StatusCode::internal, "no run");
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        const double us = timed_us([&] { report = worker->run(id, args); });
        failure.keep(check(report));
        return us;
      },
      [&](size_t) {
        report = worker->run(id, traced);
        failure.keep(check(report));
        if (!report.ok()) return 0.0;
        tasks = report->tasks;
        std::vector<Interval> kernels;
        kernels.reserve(report->trace.size());
        for (const TaskTrace& slice : report->trace) {
          kernels.push_back({slice.start_us, slice.end_us});
        }
        return union_length(std::move(kernels));
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  BenchResult result =
      BenchResult::from(fmt::format("{} ({} tasks, run us)", name, tasks),
                        "its kernels' busy time (trace, 1 execution thread)", "us", samples, 2.0);
  auto share = [](double ratio) { return ratio > 0 ? 1 - 1 / ratio : 0; };
  result.extra["runtime_share"] = share(result.ratio);
  result.extra["runtime_share_q1"] = share(result.ratio_q1);
  result.extra["runtime_share_q3"] = share(result.ratio_q3);
  return result;
}

// What a run costs with an option on, against the same run without it, sampled in turns on one
// worker: every check (--check all: 9 schedules, the first memchecked), or a trace (--trace:
// tasks, edges, the orchestration track). Each run with the option must succeed and give outputs
// bitwise equal to the plain run's (a traced run must also trace every task); the attention
// output is also checked against its reference.
enum class RunOption { check_all, trace };
Result<BenchResult> option_cost(const std::string& name, const std::filesystem::path& examples,
                                RuntimeKind runtime, const std::string& example, RunOption option,
                                size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(Bytes image, read_file(examples.parent_path() / (example + ".chipimg")));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 256ull << 20);
  WorkerOptions options;
  options.runtime = runtime;
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, options));
  CHIPRT_ASSIGN_OR_RETURN(CallableId id, worker->register_callable(image));
  RunArgs args;
  std::vector<double> want;
  if (example == "attention") {
    args = attention_args();
    want = attention_reference(args.tensors.at("q"), args.tensors.at("k"), args.tensors.at("v"));
  } else {
    for (const char* tensor : {"a", "b"}) {
      HostTensor& t = args.tensors[tensor];
      t.shape = {64, 512};
      t.data.resize(t.element_count() * sizeof(float));
      for (uint64_t i = 0; i < t.element_count(); ++i) {
        const float v = static_cast<float>(i % 251) * (tensor[0] == 'a' ? 0.5f : 0.25f);
        std::memcpy(t.data.data() + i * sizeof(float), &v, sizeof v);
      }
    }
  }
  RunArgs checked = args;
  if (option == RunOption::check_all) checked.checks = Checks{Checks::kAll};
  if (option == RunOption::trace) checked.trace = true;
  const char* with = option == RunOption::trace ? "traced" : "checked";
  FirstFailure failure;
  CHIPRT_ASSIGN_OR_RETURN(RunReport first, worker->run(id, args));
  std::map<std::string, HostTensor> plain_outputs = std::move(first.outputs);
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t) {
        Result<RunReport> report = Status(StatusCode::internal, "no run");
        const double us = timed_us([&] { report = worker->run(id, checked); });
        if (!report.ok()) {
          failure.keep(report.status());
        } else if (report->outputs.empty()) {
          failure.keep(Status(StatusCode::internal, fmt::format("the {} run made no output", with)));
        } else if (option == RunOption::trace &&
                   (report->trace.size() != report->tasks || report->orchestration.empty())) {
          failure.keep(Status(StatusCode::internal,
                              fmt::format("the traced run traced {} of its {} tasks",
                                          report->trace.size(), report->tasks)));
        } else {
          for (const auto& [tensor, t] : report->outputs) {
            auto plain = plain_outputs.find(tensor);
            if (plain == plain_outputs.end() || plain->second.data != t.data) {
              failure.keep(Status(StatusCode::internal,
                                  fmt::format("the {} run's output '{}' is not the plain run's",
                                              with, tensor)));
            }
          }
        }
        return us;
      },
      [&](size_t) {
        Result<RunReport> report = Status(StatusCode::internal, "no run");
        const double us = timed_us([&] { report = worker->run(id, args); });
        if (!report.ok()) {
          failure.keep(report.status());
          return us;
        }
        if (!want.empty()) failure.keep(check_close(report->outputs.at("out"), want, 1e-4, "out"));
        plain_outputs = report->outputs;
        return us;
      });
  CHIPRT_RETURN_IF_ERROR(failure.status);
  return BenchResult::from(
      name, option == RunOption::trace ? "the same run untraced" : "the same run unchecked", "us",
      samples, option == RunOption::trace ? 2.0 : 20.0);
}

}  // namespace

std::vector<BenchRecord> bench_runtime(const std::filesystem::path& examples, size_t iterations) {
  // Every record runs, so one that fails does not hide how the others fare; a failure is named
  // by its record.
  std::vector<BenchRecord> records;
  auto add = [&](const std::string& name, auto&& record, auto&&... args) {
    Result<BenchResult> r = record(name, examples, args...);
    if (!r.ok()) r = std::move(r).status().annotate(fmt::format("record '{}'", name));
    records.push_back(std::move(r));
  };
  add("first run of a new registration (tmr, us)", first_vs_steady, iterations);
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    add(fmt::format("{} one-task launch, steady (us)", runtime_name(runtime)), launch_latency,
        runtime, iterations);
    add(fmt::format("{} one-task first run (us)", runtime_name(runtime)), first_vs_steady_one_task,
        runtime, iterations);
  }
  for (DagShape shape : {DagShape::layered, DagShape::wavefront}) {
    for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      // The names are what scripts select results by: keep "tmr" + "DAG" and "hbg" + "replay"
      // for the layered DAG alone.
      std::string name;
      if (shape == DagShape::layered) {
        name = runtime == RuntimeKind::tmr ? "tmr 1,000-task DAG (ns/task)"
                                           : "hbg replay of the DAG (ns/task)";
      } else {
        name = fmt::format("{} tiled wavefront, 1,000 tasks (ns/task)", runtime_name(runtime));
      }
      add(name, dispatch, runtime, shape, iterations);
    }
  }
  add(fmt::format("tmr attention {}x{}, tile {}", kAttentionRows, kAttentionDim, kAttentionTile),
      attention_share, iterations);
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    add(fmt::format("{} vector 64x512 under --check all (us)", runtime_name(runtime)), option_cost,
        runtime, std::string("vector"), RunOption::check_all, iterations);
    add(fmt::format("{} attention {}x{}, tile {}, under --check all (us)", runtime_name(runtime),
                    kAttentionRows, kAttentionDim, kAttentionTile),
        option_cost, runtime, std::string("attention"), RunOption::check_all, iterations);
    add(fmt::format("{} attention {}x{}, tile {}, traced (us)", runtime_name(runtime),
                    kAttentionRows, kAttentionDim, kAttentionTile),
        option_cost, runtime, std::string("attention"), RunOption::trace, iterations);
  }
  return records;
}

}  // namespace chiprt::cli

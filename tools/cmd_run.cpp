// chiprt run IMG: registers one image on a simulated chip, runs it K times with .npy tensors
// and scalars, writes the outputs as .npy, and reports timings (JSON with --json) and,
// with --trace, a Chrome trace of the last run (see run_trace_export.h); with --report, where
// the last run's time went (run_summary_report.h).
// Exit 2 for bad input (image, .npy, options), 1 when the run fails.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "chiprt/worker.h"
#include "cli_common.h"
#include "cli_run_args.h"
#include "interrupt.h"
#include "json_report.h"
#include "npy_io.h"
#include "run_summary_report.h"
#include "run_trace_export.h"

namespace chiprt::cli {
namespace {

struct RunOptions : RunTarget {
  std::vector<std::string> outs;
  size_t repeat = 1;
  uint32_t ring_slots = 0;
  uint64_t heap_bytes = 0;
  bool json = false;
  std::string trace;
  bool report = false;
  double timeout_s = 300;
  double stall_timeout_s = 30;
  std::string check;
  uint32_t check_seeds = Checks::kDefaultSeeds;
  std::optional<uint64_t> check_seed;
};

// A signed image says what it makes: an --out it does not make is refused before any work.
Status outputs_in_signature(const Signature& signature,
                            const std::vector<std::pair<std::string, std::string>>& outs) {
  if (signature.empty()) return Status::Ok();
  std::vector<std::string> made;
  for (const SignatureEntry& entry : signature) {
    if (entry.kind == SignatureKind::output) made.push_back(entry.name);
  }
  for (const auto& [name, file] : outs) {
    if (std::find(made.begin(), made.end(), name) != made.end()) continue;
    return Status(
        StatusCode::invalid_argument,
        fmt::format("--out {}: the image's signature makes no output '{}' (its "
                    "outputs: {})",
                    name, name, made.empty() ? "none" : fmt::format("{}", fmt::join(made, ", "))));
  }
  return Status::Ok();
}

double elapsed_us(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - since)
      .count();
}

Status write_trace(const std::string& path, const RunReport& report, const std::string& run) {
  const std::string text = chrome_trace_json(report, run).dump();
  return write_file(path, as_bytes(text));
}

void run_command(const RunOptions& o) {
  const RuntimeKind runtime = take(parse_runtime(o.runtime), kExitBadInput);
  const ChipProfile profile = take(chip_profile(o.profile), kExitBadInput);
  const Bytes image = take(read_file(o.image), kExitBadInput);
  const ImageView view = take(parse_image_file(image, o.image), kExitBadInput);
  RunArgs args = run_args_from_cli(o.args, o.scalars);
  std::vector<std::pair<std::string, std::string>> outs;
  for (const std::string& spec : o.outs) outs.push_back(split_pair(spec, "--out"));
  for (const auto& [name, file] : outs) require_writable(file);
  check(outputs_in_signature(view.signature(), outs), kExitBadInput);
  if (!o.trace.empty()) require_writable(o.trace);
  Checks checks = take(Checks::parse(o.check), kExitBadInput);
  checks.seeds = o.check_seeds;
  checks.seed = o.check_seed;
  CheckReport check_report;
  if (checks.any()) {
    args.checks = checks;
    args.check_report = &check_report;
  }

  auto device = create_sim_chip(profile, o.device_memory);
  if (!device)
    fail(kExitFailure, Status(StatusCode::out_of_device_memory, "cannot create the device"));
  WorkerOptions options;
  options.runtime = runtime;
  options.ring_slots = o.ring_slots;
  options.heap_bytes = o.heap_bytes;
  options.run_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  options.stall_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.stall_timeout_s * 1000));
  auto worker = take(ChipWorker::create(device, options));

  auto start = std::chrono::steady_clock::now();
  const CallableId id = take(worker->register_callable(image));
  const double register_us = elapsed_us(start);
  const uint64_t live_before = device->stats().live_bytes;

  StallReport stall_report;
  args.stall_report = &stall_report;
  args.stop = interrupt_token();  // Ctrl-C or SIGTERM cancels the run (see interrupt.h)
  std::vector<double> run_us;
  RunReport last;
  uint64_t cache_hits = 0;
  uint64_t orchestration_calls = 0;  // over every run: as the device or the sandbox counted them
  for (size_t i = 0; i < o.repeat; ++i) {
    args.trace = (!o.trace.empty() || o.report) && i + 1 == o.repeat;
    start = std::chrono::steady_clock::now();
    auto report = worker->run(id, args);
    // Arguments the callable's signature (or input checks) refuse are bad input, not failed work.
    if (!report.ok() && report.status().code() == StatusCode::invalid_argument) {
      fail(kExitBadInput, report.status());
    }
    // The full report goes with --json; the status line names the first finding.
    if (!report.ok() && report.status().code() == StatusCode::check_failed && o.json) {
      nlohmann::json failed{{"status", "check_failed"},
                            {"message", std::string(report.status().message())},
                            {"checks", check_report_json(check_report)}};
      std::cout << failed.dump(2) << "\n";
    }
    // A stalled run: what it waited for, as data.
    if (!report.ok() && report.status().code() == StatusCode::deadline_exceeded && o.json &&
        stall_report.run != 0) {
      nlohmann::json failed{{"status", "deadline_exceeded"},
                            {"message", std::string(report.status().message())},
                            {"stall", stall_report_json(stall_report)}};
      std::cout << failed.dump(2) << "\n";
    }
    last = take(std::move(report));
    run_us.push_back(elapsed_us(start));
    cache_hits += last.graph_cache_hit ? 1 : 0;
    orchestration_calls += last.orchestration_calls;
  }
  const DeviceStats after = device->stats();
  const WorkerStats worker_after = worker->stats();
  const WorkerStats::GraphCache cache = worker->stats().graph_cache;
  for (const auto& [name, file] : outs) {
    auto it = last.outputs.find(name);
    if (it == last.outputs.end()) {
      fail(kExitBadInput,
           Status(StatusCode::not_found, fmt::format("the run made no output '{}'", name)));
    }
    check(save_npy(file, it->second));
  }
  const std::string run_label = fmt::format("run {} of '{}' (id {})", o.repeat, view.name(), id);
  if (!o.trace.empty()) check(write_trace(o.trace, last, run_label));
  std::optional<RunSummary> summary;
  if (o.report) summary = take(summarize_run(last));
  check(worker->unregister_callable(id));

  std::vector<double> steady(run_us.begin() + (run_us.size() > 1 ? 1 : 0), run_us.end());
  std::sort(steady.begin(), steady.end());
  const double median = steady[steady.size() / 2];
  nlohmann::json out;
  out["runtime"] = o.runtime;
  out["profile"] = o.profile;
  out["tasks"] = last.tasks;
  out["repeat"] = o.repeat;
  out["register_us"] = register_us;
  out["first_run_us"] = run_us.front();
  out["run_us_median"] = median;
  out["first_to_steady_ratio"] = run_us.front() / median;
  out["peak_ring_occupancy"] = last.peak_ring_occupancy;
  out["peak_heap_bytes"] = last.peak_heap_bytes;
  out["orchestration_calls"] = orchestration_calls;
  if (last.checks) out["checks"] = check_report_json(*last.checks);
  if (runtime == RuntimeKind::hbg) {
    out["graph_cache_hits"] = cache_hits;
    out["graph_bytes"] = last.graph_bytes;
    out["graph_edges"] = last.graph_edges;
    out["graph_cache"] = graph_cache_json(cache);
  }
  for (const auto& [name, tensor] : last.outputs) out["outputs"][name] = tensor.shape;
  out["device"] = {{"live_bytes_before", live_before},
                   {"live_bytes_after", after.live_bytes},
                   {"tensor_live_bytes_after", after.tag(MemoryTag::tensor).live_bytes},
                   {"graph_cache_bytes", last.graph_cache_bytes},
                   {"heap_bytes_reserved", worker_after.heap_bytes_reserved},
                   {"runtime_fixed_bytes", last.runtime_fixed_bytes},
                   {"runtime_peak_bytes", after.tag(MemoryTag::runtime).peak_bytes},
                   {"peak_bytes", after.peak_bytes}};
  if (summary) out["report"] = run_summary_json(*summary);
  if (o.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    fmt::print(
        "{} task{} on {} ({}): register {:.1f} us, first run {:.1f} us, median run {:.1f} us\n",
        last.tasks, last.tasks == 1 ? "" : "s", o.runtime, o.profile, register_us, run_us.front(),
        median);
    if (summary) fmt::print("{}", run_summary_text(*summary));
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run an image on a simulated chip with .npy tensors");
  add_run_target_options(*cmd, *o);
  cmd->add_option("--out", o->outs, "NAME=FILE.npy output to write (repeatable)");
  cmd->add_option("--repeat", o->repeat, "number of runs")->check(at_least(1));
  cmd->add_option("--ring-slots", o->ring_slots, "tmr task ring slots (default: chip profile)")
      ->check(at_least(1));
  cmd->add_option("--heap-bytes", o->heap_bytes,
                  "tmr intermediate heap bytes (default: chip profile)")
      ->check(at_least(1));
  cmd->add_option("--trace", o->trace, "write a Chrome trace JSON of the last run");
  cmd->add_flag("--report", o->report,
                "report where the last run's time went: critical path, core busy shares, waits, "
                "high-water marks, dependencies (under \"report\" with --json)");
  cmd->add_option("--timeout", o->timeout_s,
                  "seconds a run may take before the device is killed (default 300)")
      ->check(CLI::Range(0.001, 1e7));
  cmd->add_option("--stall-timeout", o->stall_timeout_s,
                  "seconds without a completed task or orchestration call before the device is "
                  "killed (default 30)")
      ->check(CLI::Range(0.001, 1e7));
  cmd->add_option("--check", o->check,
                  "memcheck,racecheck,initcheck or all: run each schedule checked; a finding "
                  "fails the run (check_failed, exit 1)");
  cmd->add_option("--check-seeds", o->check_seeds, "racecheck: schedules compared (default 8)")
      ->check(CLI::Range(2u, 1000u));
  cmd->add_option("--check-seed", o->check_seed, "replay the one schedule of this seed");
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([o] { run_command(*o); });
}

}  // namespace chiprt::cli

// chiprt bench [--json]: the standard benchmark set, each result next to a floor measured in the
// same run, as a ratio with its goal. A record whose runs failed or produced wrong results is
// not reported: it is named on stderr and the command fails.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench_code_cache.h"
#include "bench_registration.h"
#include "bench_runtime.h"
#include "cli_common.h"

namespace chiprt::cli {

void add_bench_command(CLI::App& app) {
  struct Options {
    size_t iterations = 40;
    std::string only;
    std::string examples;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Benchmarks as ratios to floors measured in the same run");
  cmd->add_option("--iterations", o->iterations, "samples per measurement (median is reported)")
      ->check(at_least(1));
  cmd->add_option("--examples", o->examples, "directory of the example .so files");
  cmd->add_option("--only", o->only, "registration | runtime")
      ->check(CLI::IsMember({"registration", "runtime"}));
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([o] {
    const auto examples = examples_dir(o->examples);
    std::vector<BenchRecord> records;
    if (o->only != "runtime") {
      auto registration = bench_registration(examples, o->iterations);
      if (!registration.ok()) {
        records.push_back(std::move(registration).status().annotate("registration records"));
      } else {
        for (BenchResult& r : *registration) records.push_back(std::move(r));
      }
      auto cycle = bench_seen_image_cycle(examples, o->iterations);
      if (!cycle.ok()) cycle = std::move(cycle).status().annotate("record 'seen image cycle'");
      records.push_back(std::move(cycle));
    }
    if (o->only != "registration") {
      for (BenchRecord& r : bench_runtime(examples, o->iterations)) records.push_back(std::move(r));
    }
    std::vector<BenchResult> results;
    std::vector<Status> failed;
    for (BenchRecord& r : records) {
      if (r.ok()) {
        results.push_back(std::move(r).value());
      } else {
        failed.push_back(r.status());
      }
    }
    // The records that failed are named on stderr, not reported, and fail the command once the
    // others are printed.
    auto finish = [&] {
      if (failed.empty()) return;
      for (const Status& f : failed)
        fmt::print(stderr, "chiprt: bench record failed: {}\n", f.to_string());
      fail(kExitFailure,
           Status(StatusCode::internal, fmt::format("{} of {} bench records failed their runs or "
                                                    "checks (above) and are not reported",
                                                    failed.size(), records.size())));
    };
    if (o->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const BenchResult& r : results) {
        // Units in the key names: measured_us / floor_us, or measured_ns_per_task / ...
        nlohmann::json record = {{"name", r.name},
                                 {"floor", r.floor_name},
                                 {"measured_" + r.unit, r.measured},
                                 {"floor_" + r.unit, r.floor},
                                 {"ratio", r.ratio},
                                 {"ratio_q1", r.ratio_q1},
                                 {"ratio_q3", r.ratio_q3},
                                 {"pairs", r.pairs},
                                 {"goal", r.goal},
                                 {"within_goal", r.ratio <= r.goal}};
        if (r.has_floor_alone()) {
          // The floor sampled with the device idle, and whether the interleaved one strays
          // from it by more than kFloorDisturbance.
          record["floor_alone_" + r.unit] = r.floor_alone;
          record["floor_disturbed"] = r.floor_disturbed();
        }
        for (const auto& [key, value] : r.extra) record[key] = value;
        out.push_back(std::move(record));
      }
      std::cout << out.dump(2) << "\n";
      std::cout.flush();
      finish();
      return;
    }
    // ratio: the median of per-pair ratios (measured and floor sampled in turns), with its
    // interquartile range.
    if (!results.empty()) {
      fmt::print("{:<52} {:>10} {:>10} {:<12} {:>6} {:>5}  floor\n", "benchmark", "measured",
                 "floor", "unit", "ratio", "goal");
    }
    for (const BenchResult& r : results) {
      fmt::print(
          "{:<52} {:>10.1f} {:>10.1f} {:<12} {:>6.2f} {:>5.1f}  {} (IQR {:.2f}-{:.2f}, {} "
          "pairs){}\n",
          r.name, r.measured, r.floor, r.unit, r.ratio, r.goal, r.floor_name, r.ratio_q1,
          r.ratio_q3, r.pairs, r.ratio <= r.goal ? "" : "  (over goal)");
      if (r.has_floor_alone()) {
        fmt::print("    floor alone = {:.1f} {}, interleaved {:+.0f}%{}\n", r.floor_alone, r.unit,
                   100 * r.floor_shift(),
                   r.floor_disturbed() ? fmt::format(": FLOOR DISTURBED (more than {:.0f}% off)",
                                                     100 * kFloorDisturbance)
                                       : "");
      }
      for (const auto& [key, value] : r.extra) fmt::print("    {} = {:.3f}\n", key, value);
    }
    std::fflush(stdout);
    finish();
  });
}

}  // namespace chiprt::cli

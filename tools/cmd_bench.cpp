// chiprt bench [--json]: the standard benchmark set, each result next to a floor measured in the
// same run, as a ratio with its goal.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

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
    std::vector<BenchResult> results;
    if (o->only != "runtime") results = take(bench_registration(examples, o->iterations));
    if (o->only != "registration") {
      for (BenchResult& r : take(bench_runtime(examples, o->iterations)))
        results.push_back(std::move(r));
    }
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
        for (const auto& [key, value] : r.extra) record[key] = value;
        out.push_back(std::move(record));
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    // ratio: the median of per-pair ratios (measured and floor sampled in turns), with its
    // interquartile range.
    fmt::print("{:<52} {:>10} {:>10} {:<12} {:>6} {:>5}  floor\n", "benchmark", "measured", "floor",
               "unit", "ratio", "goal");
    for (const BenchResult& r : results) {
      fmt::print(
          "{:<52} {:>10.1f} {:>10.1f} {:<12} {:>6.2f} {:>5.1f}  {} (IQR {:.2f}-{:.2f}, {} "
          "pairs){}\n",
          r.name, r.measured, r.floor, r.unit, r.ratio, r.goal, r.floor_name, r.ratio_q1,
          r.ratio_q3, r.pairs, r.ratio <= r.goal ? "" : "  (over goal)");
      for (const auto& [key, value] : r.extra) fmt::print("    {} = {:.3f}\n", key, value);
    }
  });
}

}  // namespace chiprt::cli

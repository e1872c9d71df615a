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
  CLI::App* cmd = app.add_subcommand("bench", "Benchmarks as ratios to floors measured in the same run");
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
      for (BenchResult& r : take(bench_runtime(examples, o->iterations))) results.push_back(std::move(r));
    }
    if (o->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const BenchResult& r : results) {
        out.push_back({{"name", r.name}, {"floor", r.floor_name}, {"measured_us", r.measured_us},
                       {"floor_us", r.floor_us}, {"ratio", r.ratio()}, {"goal", r.goal},
                       {"within_goal", r.ratio() <= r.goal}});
      }
      std::cout << out.dump(2) << "\n";
      return;
    }
    fmt::print("{:<44} {:>11} {:>11} {:>7} {:>6}  floor\n", "benchmark", "measured_us", "floor_us",
               "ratio", "goal");
    for (const BenchResult& r : results) {
      fmt::print("{:<44} {:>11.1f} {:>11.1f} {:>7.2f} {:>6.1f}  {}{}\n", r.name, r.measured_us,
                 r.floor_us, r.ratio(), r.goal, r.floor_name, r.ratio() <= r.goal ? "" : "  (over goal)");
    }
  });
}

}  // namespace chiprt::cli

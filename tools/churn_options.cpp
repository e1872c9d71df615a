#include "churn_options.h"

#include <fmt/format.h>

#include "cli_common.h"

namespace chiprt::cli {

void add_churn_options(CLI::App& cmd, ChurnCliOptions& o) {
  ChurnConfig& c = o.config;
  cmd.add_option("--callables", c.callables, "registrations to make")->check(at_least(1));
  cmd.add_option("--duration", c.duration_s, "run for SECONDS instead of a count")
      ->check(greater_than_zero());
  cmd.add_option("--distinct", c.distinct, "distinct images cycled over")->check(at_least(1));
  cmd.add_option("--pattern", o.pattern, "all | rolling")->check(CLI::IsMember({"all", "rolling"}));
  cmd.add_option("--runtime", o.runtime, "tmr | hbg")->check(CLI::IsMember({"tmr", "hbg"}));
  cmd.add_option("--devices", c.devices, "simulated chips")->check(at_least(1));
  cmd.add_option("--workers", c.workers,
                 "workers driven, spread over the devices (default: one per device)")
      ->check(at_least(1));
  cmd.add_option("--threads", c.threads, "threads issuing operations")->check(at_least(1));
  cmd.add_option("--runs-per-callable", c.runs_per_callable, "runs of each registration")
      ->check(at_least(0));
  cmd.add_option("--profile", c.profile, "chip profile: a2a3 | a5");
  cmd.add_option("--device-memory", c.device_memory, "device capacity in bytes")
      ->check(at_least(1));
  cmd.add_flag("--legacy-accounting", c.legacy,
               "simulate the replaced runtime: double upload, nothing freed before finalize");
  cmd.add_option("--examples", o.examples, "directory of the example .so files");
  cmd.add_option("--save-images", c.save_images,
                 "write the distinct images synthesized into DIR, one .chipimg each");
  cmd.add_flag("--json", o.json, "print JSON");
}

ChurnConfig resolve_churn_options(const ChurnCliOptions& o) {
  ChurnConfig config = o.config;
  if (config.workers > config.devices) {
    fail(kExitBadInput,
         Status(StatusCode::invalid_argument,
                fmt::format("--workers {} exceeds --devices {} (one worker per device at most)",
                            config.workers, config.devices)));
  }
  config.runtime = take(parse_runtime(o.runtime), kExitBadInput);
  config.rolling = o.pattern == "rolling";
  config.examples = examples_dir(o.examples);
  return config;
}

}  // namespace chiprt::cli

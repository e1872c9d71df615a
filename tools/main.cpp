// chiprt: pack, inspect, run and measure chip callables on the simulated chip.
#include <fmt/format.h>

#include <cstdio>

#include "cli_common.h"

int main(int argc, char** argv) {
  CLI::App app{"chiprt: chip callables on a simulated AI accelerator"};
  app.require_subcommand(1);
  chiprt::cli::add_pack_command(app);
  chiprt::cli::add_inspect_command(app);
  chiprt::cli::add_churn_command(app);
  chiprt::cli::add_run_command(app);
  chiprt::cli::add_stats_command(app);
  chiprt::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : chiprt::cli::kExitBadInput;
  } catch (const chiprt::cli::CommandError& e) {
    fmt::print(stderr, "chiprt: {}\n", e.message);
    return e.exit_code;
  }
  return 0;
}

// chiprt: pack, inspect, run and measure chip callables on the simulated chip.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli_common.h"
#include "interrupt.h"

namespace {

constexpr const char* kLevels = "trace, debug, info, warn, error, critical, off";

// CLI11's message for `e` as one line. Our validators say "must be ..." or "is ...", which reads
// "--opt must be ..." rather than CLI11's "--opt: must be ...".
std::string one_line(const CLI::Error& e) {
  std::string text = e.what();
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
    const size_t colon = text.find(": ");
    if (colon != std::string::npos &&
        (text.compare(colon + 2, 5, "must ") == 0 || text.compare(colon + 2, 3, "is ") == 0)) {
      text.erase(colon, 1);
    }
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!sub->get_name().empty()) names.push_back(sub->get_name());
  }
  return names;
}

int usage_error(const std::string& message) {
  fmt::print(stderr, "chiprt: {}\n", message);
  return chiprt::cli::kExitBadInput;
}

}  // namespace

// 128 + the signal that interrupted the command (130 SIGINT, 143 SIGTERM), or `code`.
static int exit_code(int code) {
  const int sig = chiprt::cli::interrupt_signal();
  if (sig == 0) return code;
  fmt::print(stderr, "chiprt: interrupted by SIG{}\n", sigabbrev_np(sig));
  return 128 + sig;
}

int main(int argc, char** argv) {
  chiprt::cli::install_interrupt_handlers();
  CLI::App app{"chiprt: chip callables on a simulated AI accelerator"};
  app.require_subcommand(1);
  // Orchestration log lines are info; CHIPRT_LOG_LEVEL or --log-level (which wins) change it.
  if (const char* level = std::getenv("CHIPRT_LOG_LEVEL"); level && *level) {
    const auto parsed = spdlog::level::from_str(level);
    if (parsed == spdlog::level::off && std::string_view(level) != "off") {
      return usage_error(fmt::format("CHIPRT_LOG_LEVEL '{}' is not one of {}", level, kLevels));
    }
    spdlog::set_level(parsed);
  }
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& level) { spdlog::set_level(spdlog::level::from_str(level)); },
         fmt::format("log level: {} (default info; also CHIPRT_LOG_LEVEL)", kLevels))
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.fallthrough();  // --log-level may also follow the subcommand
  app.set_version_flag("--version", "chiprt " CHIPRT_VERSION);
  chiprt::cli::add_pack_command(app);
  chiprt::cli::add_inspect_command(app);
  chiprt::cli::add_churn_command(app);
  chiprt::cli::add_run_command(app);
  chiprt::cli::add_stats_command(app);
  chiprt::cli::add_bench_command(app);
  const std::vector<std::string> names = subcommand_names(app);
  if (argc < 2) {
    return usage_error(fmt::format("a subcommand is required: {}", fmt::join(names, ", ")));
  }
  if (argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    return usage_error(fmt::format("unknown subcommand '{}'; the subcommands are {}", argv[1],
                                   fmt::join(names, ", ")));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    if (app.get_subcommands().empty()) {  // CLI11 says "A subcommand is required" even for `--x`
      const std::vector<std::string> rest = app.remaining();
      return usage_error(rest.empty()
                             ? fmt::format("a subcommand is required: {}", fmt::join(names, ", "))
                             : fmt::format("unknown option '{}'; usage: chiprt "
                                           "SUBCOMMAND ..., the subcommands are {}",
                                           rest.front(), fmt::join(names, ", ")));
    }
    return usage_error(one_line(e));
  } catch (const chiprt::cli::CommandError& e) {
    if (chiprt::cli::interrupt_signal() == 0) fmt::print(stderr, "chiprt: {}\n", e.message);
    return exit_code(e.exit_code);
  }
  return exit_code(0);
}

// chiprt: pack, inspect, run and measure chip callables on the simulated chip.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
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

// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for
// suggesting the option or subcommand a typo meant ("rnu" is one edit from "run").
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The candidate closest to `typed`, if it is close enough to be what was meant (at most a third
// of its letters off, and at least one).
std::optional<std::string> closest(std::string_view typed, const std::vector<std::string>& names) {
  std::optional<std::string> best;
  size_t best_distance = std::max<size_t>(1, typed.size() / 3) + 1;
  for (const std::string& name : names) {
    const size_t d = edit_distance(typed, name);
    if (d < best_distance) best_distance = d, best = name;
  }
  return best;
}

// Long option names ("--runtime") of `app` and of the apps it falls through to.
std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* opt : app->get_options()) {
      for (const std::string& name : opt->get_lnames()) names.push_back("--" + name);
    }
  }
  return names;
}

// "unknown option '--runtme'; did you mean '--runtime'?" for the first unexpected argument that
// looks like an option with a near miss; otherwise CLI11's own message.
std::string unexpected_arguments(const CLI::App& app, const CLI::Error& e) {
  const CLI::App* sub = &app;
  while (!sub->get_subcommands().empty()) sub = sub->get_subcommands().front();
  const std::vector<std::string> known = option_names(sub);
  // With fallthrough, what the subcommand does not know reaches the top app's leftovers.
  std::vector<std::string> extras = sub->remaining();
  for (const std::string& arg : app.remaining()) extras.push_back(arg);
  for (const std::string& arg : extras) {
    if (!arg.starts_with("--")) continue;
    const std::string typed = arg.substr(0, arg.find('='));
    if (auto near = closest(typed, known)) {
      return fmt::format("unknown option '{}' for '{}'; did you mean '{}'?", typed, sub->get_name(),
                         *near);
    }
    return fmt::format("unknown option '{}' for '{}'; see chiprt {} --help", typed, sub->get_name(),
                       sub->get_name());
  }
  return one_line(e);
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

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer: Graphviz (`graph --format svg`) and the fontconfig it loads keep caches for the
// life of the process (plugins, fonts) that they never free; they are not chiprt's leaks.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libfontconfig.so\nleak:libgvc.so\nleak:libcgraph.so\nleak:libcdt.so\n";
}
#endif

int main(int argc, char** argv) {
  chiprt::cli::install_interrupt_handlers();
  CLI::App app{"chiprt: chip callables on a simulated AI accelerator"};
  app.require_subcommand(1);
  // Log lines (the orchestrations' among them) go to stderr: stdout is for results, and
  // `--json` output must stay one parseable document.
  spdlog::set_default_logger(spdlog::stderr_color_mt("chiprt"));
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
  chiprt::cli::add_graph_command(app);
  chiprt::cli::add_stats_command(app);
  chiprt::cli::add_bench_command(app);
  chiprt::cli::add_config_command(app);
  const std::vector<std::string> names = subcommand_names(app);
  if (argc < 2) {
    return usage_error(fmt::format("a subcommand is required: {}", fmt::join(names, ", ")));
  }
  if (argv[1][0] != '-' && std::find(names.begin(), names.end(), argv[1]) == names.end()) {
    const auto near = closest(argv[1], names);
    return usage_error(fmt::format("unknown subcommand '{}'; {}the subcommands are {}", argv[1],
                                   near ? fmt::format("did you mean '{}'? ", *near) : "",
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
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      return usage_error(unexpected_arguments(app, e));
    }
    return usage_error(one_line(e));
  } catch (const chiprt::cli::CommandError& e) {
    if (chiprt::cli::interrupt_signal() == 0) fmt::print(stderr, "chiprt: {}\n", e.message);
    return exit_code(e.exit_code);
  }
  return exit_code(0);
}

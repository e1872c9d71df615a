// chiprt config --cflags | --include-dir: where the C headers a callable is written against
// live, so that a callable builds from any folder: `gcc $(chiprt config --cflags) ...`. An
// installed chiprt answers with its prefix's include/ (bin/../include); a build tree's with the
// source tree's.
#include <fmt/format.h>

#include <filesystem>

#include "cli_common.h"

namespace chiprt::cli {
namespace {

std::filesystem::path include_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "include";
    if (fs::is_regular_file(installed / "chiprt" / "abi" / "kernel.h", ec)) return installed;
  }
  return CHIPRT_SOURCE_INCLUDE_DIR;
}

}  // namespace

void add_config_command(CLI::App& app) {
  struct Options {
    bool cflags = false;
    bool include = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("config", "Print the compiler flags a callable's C sources need");
  cmd->add_flag("--cflags", o->cflags, "-I flag for the chiprt/abi/ headers");
  cmd->add_flag("--include-dir", o->include, "the directory holding chiprt/abi/");
  cmd->require_option(1);
  cmd->callback([o] {
    const std::filesystem::path dir = include_dir();
    if (o->cflags) fmt::print("-I{}\n", dir.string());
    if (o->include) fmt::print("{}\n", dir.string());
  });
}

}  // namespace chiprt::cli

#include "cli_run_args.h"

#include <fmt/format.h>

#include <cstdlib>

#include "cli_common.h"
#include "npy_io.h"

namespace chiprt::cli {

std::pair<std::string, std::string> split_pair(const std::string& spec, const char* option) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
    fail(kExitBadInput, Status(StatusCode::invalid_argument,
                               fmt::format("{} expects NAME=VALUE, got '{}'", option, spec)));
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

RunArgs run_args_from_cli(const std::vector<std::string>& tensor_specs,
                          const std::vector<std::string>& scalar_specs) {
  RunArgs args;
  for (const std::string& spec : tensor_specs) {
    auto [name, file] = split_pair(spec, "--arg");
    if (args.tensors.count(name)) {
      fail(kExitBadInput, Status(StatusCode::invalid_argument,
                                 fmt::format("--arg {} is given more than once", name)));
    }
    args.tensors[name] = take(load_npy(file), kExitBadInput);
  }
  for (const std::string& spec : scalar_specs) {
    auto [name, text] = split_pair(spec, "--scalar");
    if (args.scalars.count(name)) {
      fail(kExitBadInput, Status(StatusCode::invalid_argument,
                                 fmt::format("--scalar {} is given more than once", name)));
    }
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0') {
      fail(kExitBadInput, Status(StatusCode::invalid_argument,
                                 fmt::format("--scalar {}: '{}' is not a number", name, text)));
    }
    args.scalars[name] = value;
  }
  return args;
}

void add_run_target_options(CLI::App& cmd, RunTarget& target) {
  cmd.add_option("image", target.image, "image file")->required();
  cmd.add_option("--runtime", target.runtime, "tmr | hbg");
  cmd.add_option("--profile", target.profile, "chip profile: a2a3 | a5");
  cmd.add_option("--device-memory", target.device_memory, "simulated device memory in bytes")
      ->check(at_least(1));
  cmd.add_option("--arg", target.args, "NAME=FILE.npy input tensor (repeatable)");
  cmd.add_option("--scalar", target.scalars, "NAME=VALUE scalar argument (repeatable)");
}

}  // namespace chiprt::cli

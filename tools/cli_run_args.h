// RunArgs from the command line's --arg NAME=FILE.npy and --scalar NAME=VALUE options (run,
// graph). Bad input exits with kExitBadInput, naming the option.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "chiprt/run.h"

namespace chiprt::cli {

// "NAME=VALUE" split at the first '='; both sides non-empty.
std::pair<std::string, std::string> split_pair(const std::string& spec, const char* option);

RunArgs run_args_from_cli(const std::vector<std::string>& tensor_specs,
                          const std::vector<std::string>& scalar_specs);

// What `run` and `graph` both take: the image, the chip and the run's arguments.
struct RunTarget {
  std::string image;
  std::string runtime = "tmr";
  std::string profile = "a2a3";
  uint64_t device_memory = 1ull << 30;
  std::vector<std::string> args, scalars;
};
// Adds them to `cmd`: IMAGE, --runtime, --profile, --device-memory, --arg, --scalar.
void add_run_target_options(CLI::App& cmd, RunTarget& target);

}  // namespace chiprt::cli

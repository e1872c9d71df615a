// RunArgs from the command line's --arg NAME=FILE.npy and --scalar NAME=VALUE options (run,
// graph). Bad input exits with kExitBadInput, naming the option.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "chiprt/run.h"

namespace chiprt::cli {

// "NAME=VALUE" split at the first '='; both sides non-empty.
std::pair<std::string, std::string> split_pair(const std::string& spec, const char* option);

RunArgs run_args_from_cli(const std::vector<std::string>& tensor_specs,
                          const std::vector<std::string>& scalar_specs);

}  // namespace chiprt::cli

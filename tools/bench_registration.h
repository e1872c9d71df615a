// Registration benchmarks: a new 1 MiB image and a duplicate, each against the floor of work it
// cannot avoid, measured in the same run.
#pragma once

#include <filesystem>
#include <vector>

#include "bench_timer.h"
#include "chiprt/status.h"

namespace chiprt::cli {

Result<std::vector<BenchResult>> bench_registration(const std::filesystem::path& examples,
                                                    size_t iterations);

}  // namespace chiprt::cli

// Runtime benchmarks: first vs steady run, tmr and hbg on a 1,000-task DAG vs oneTBB flow_graph.
#pragma once

#include <filesystem>
#include <vector>

#include "bench_timer.h"
#include "chiprt/status.h"

namespace chiprt::cli {

Result<std::vector<BenchResult>> bench_runtime(const std::filesystem::path& examples,
                                               size_t iterations);

}  // namespace chiprt::cli

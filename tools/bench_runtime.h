// Runtime benchmarks, each sampled in turns with its floor: first vs steady run, one-task
// launch latency, per-task dispatch of tmr and hbg on two 1,000-task DAGs (a layered DAG and a
// tiled wavefront) against oneTBB flow_graph, and the runtime's share of the attention
// example's run time at small tiles. Each checks what its runs produced: a runtime that skips
// work fails its records instead of reporting them.
#pragma once

#include <filesystem>
#include <vector>

#include "bench_timer.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// Each record's result, or the failed run or check (of the marks every dispatch task leaves,
// of outputs against their reference) that voids it, its message naming the record.
using BenchRecord = Result<BenchResult>;
std::vector<BenchRecord> bench_runtime(const std::filesystem::path& examples, size_t iterations);

// The attention workload of the share measurement: q, k, v of [kAttentionRows, kAttentionDim],
// tiled by kAttentionTile (16 query tiles x (16 + 1 + 16) tasks = 528 tasks).
inline constexpr int64_t kAttentionRows = 128, kAttentionDim = 32, kAttentionTile = 8;

}  // namespace chiprt::cli

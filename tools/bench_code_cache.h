// The code cache benchmark: the register + run + unregister cycle of an image the device has
// seen before (its code taken back from the device's code cache), against the floor of work it
// cannot avoid, sampled in turns in the same run.
#pragma once

#include <filesystem>

#include "bench_timer.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// The record, or the failed run or check that voids it: every run's output must be the vector
// example's golden one, and the cycles must load no code (every object a cache hit).
Result<BenchResult> bench_seen_image_cycle(const std::filesystem::path& examples,
                                           size_t iterations);

}  // namespace chiprt::cli

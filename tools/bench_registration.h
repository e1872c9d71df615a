// Registration benchmarks: a new 1 MiB image and a duplicate, each against the floor of work it
// cannot avoid, measured in the same run.
#pragma once

#include <filesystem>
#include <vector>

#include "bench_timer.h"
#include "chiprt/code_loader.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// `count` distinct images of about 1 MiB each (the vector example, its last kernel padded).
Result<std::vector<Bytes>> one_mib_images(const std::filesystem::path& examples, size_t count);

// A loader that loads nothing, so that placement can be timed apart from loading.
std::shared_ptr<CodeLoader> no_load_loader();

Result<std::vector<BenchResult>> bench_registration(const std::filesystem::path& examples,
                                                    size_t iterations);

}  // namespace chiprt::cli

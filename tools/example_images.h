// Images built from this build's example shared objects, for churn and bench.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chiprt/image.h"

namespace chiprt::cli {

// The vector example's orchestration and kernels, read once.
struct ExampleParts {
  Bytes orchestration;
  std::vector<std::pair<KernelSource, Bytes>> kernels;  // source.shared_object points into Bytes
};

Result<ExampleParts> load_vector_parts(const std::filesystem::path& dir);

// `count` distinct images of the same code, told apart by their header name "<prefix>-<i>".
Result<std::vector<Bytes>> make_distinct_images(const ExampleParts& parts, size_t count,
                                                const std::string& prefix);

}  // namespace chiprt::cli

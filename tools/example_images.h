// Images built from this build's example shared objects, for churn and bench.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chiprt/image.h"
#include "chiprt/run.h"

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

// Arguments of the vector example: float32 a = 2 and b = 3 of shape rows x cols.
RunArgs vector_run_args(int64_t rows, int64_t cols);
// Whether `report` holds the vector example's golden output for those arguments: f == 47
// everywhere, `elements` of them.
bool is_vector_golden(const RunReport& report, uint64_t elements);

}  // namespace chiprt::cli

#include "bench_runtime.h"

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "chiprt/worker.h"
#include "cli_common.h"
#include "example_images.h"

namespace chiprt::cli {
namespace {

double elapsed_us(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

// First run of a fresh registration vs later runs of the same one (tmr, vector example).
Result<BenchResult> first_vs_steady(const std::filesystem::path& examples, size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images, make_distinct_images(parts, iterations, "first"));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 512ull << 20);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  const RunArgs args = vector_run_args(128, 1024);
  std::vector<double> first, steady;
  for (const Bytes& image : images) {
    CHIPRT_ASSIGN_OR_RETURN(CallableId id, worker->register_callable(image));
    auto start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(worker->run(id, args).status());
    first.push_back(elapsed_us(start));
    start = std::chrono::steady_clock::now();
    CHIPRT_RETURN_IF_ERROR(worker->run(id, args).status());
    steady.push_back(elapsed_us(start));
    CHIPRT_RETURN_IF_ERROR(worker->unregister_callable(id));
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  return BenchResult{"first run of a new registration (tmr)", "steady run of the same callable",
                     median(first), median(steady), 1.2};
}

}  // namespace

Result<std::vector<BenchResult>> bench_runtime(const std::filesystem::path& examples,
                                               size_t iterations) {
  std::vector<BenchResult> results;
  CHIPRT_ASSIGN_OR_RETURN(BenchResult first, first_vs_steady(examples, iterations));
  results.push_back(first);
  return results;
}

}  // namespace chiprt::cli

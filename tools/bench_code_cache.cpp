#include "bench_code_cache.h"

#include <fmt/format.h>

#include <cstring>

#include "chiprt/worker.h"
#include "example_images.h"

namespace chiprt::cli {
namespace {

// The session pattern's tensors: small, so that the cycle's own cost shows.
constexpr int64_t kRows = 64, kCols = 512;

Status check_vector(const Result<RunReport>& report) {
  if (!report.ok()) return report.status();
  if (is_vector_golden(*report, kRows * kCols)) return Status::Ok();
  return Status(StatusCode::internal, "the vector example's output f is not its golden 47");
}

}  // namespace

Result<BenchResult> bench_seen_image_cycle(const std::filesystem::path& examples,
                                           size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  // "seen": the image cycled; "steady": the same code, held registered for the floor's run.
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images, make_distinct_images(parts, 2, "cache"));
  const Bytes& seen = images[0];
  const uint64_t objects = 1 + parts.kernels.size();
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 256ull << 20);
  CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, WorkerOptions{}));
  CHIPRT_ASSIGN_OR_RETURN(CallableId steady, worker->register_callable(images[1]));
  const RunArgs args = vector_run_args(kRows, kCols);
  Status failure;
  auto keep = [&](const Status& s) {
    if (!s.ok() && failure.ok()) failure = s;
  };
  // The previous report is freed inside the timed part, as a discarded report is; every output
  // is checked after it.
  Result<RunReport> report = Status(StatusCode::internal, "no run");
  Bytes copy(seen.size());
  uint64_t loads_before = 0, hits_before = 0;
  const PairedSamples samples = interleave(
      iterations,
      [&](size_t i) {
        if (i == 0) {  // after the warm-up pair, which saw the image first
          const DeviceStats stats = device->stats();
          loads_before = stats.code_loads;
          hits_before = stats.code_cache.hits;
        }
        Result<CallableId> id = Status(StatusCode::internal, "not registered");
        const double us = timed_us([&] {
          id = worker->register_callable(seen);
          if (id.ok()) {
            report = worker->run(*id, args);
            keep(worker->unregister_callable(*id));
          }
        });
        keep(id.status());
        if (id.ok()) keep(check_vector(report));
        return us;
      },
      [&](size_t) {
        // What a cycle cannot avoid: the bytes copied to the device, hashed and compared with
        // what the device keeps, and one run.
        const double us = timed_us([&] {
          std::memcpy(copy.data(), seen.data(), seen.size());
          ImageHash h = hash_bytes(copy);
          int same = std::memcmp(copy.data(), seen.data(), seen.size());
          asm volatile("" : : "r"(&h), "r"(same), "r"(copy.data()) : "memory");
          report = worker->run(steady, args);
        });
        keep(check_vector(report));
        return us;
      });
  keep(worker->unregister_callable(steady));
  CHIPRT_RETURN_IF_ERROR(failure);
  const DeviceStats after = device->stats();
  if (after.code_loads != loads_before ||
      after.code_cache.hits - hits_before != iterations * objects) {
    return Status(StatusCode::internal,
                  fmt::format("the cycles of a seen image loaded {} code objects and took {} from "
                              "the code cache: expected 0 and {}",
                              after.code_loads - loads_before, after.code_cache.hits - hits_before,
                              iterations * objects));
  }
  return BenchResult::from("register + run + unregister of a seen image (us)",
                           "memcpy + XXH3-128 + memcmp of its bytes + one steady run", "us",
                           samples, 1.5);
}

}  // namespace chiprt::cli

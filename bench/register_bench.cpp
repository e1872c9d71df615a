// Google Benchmark: registration of a new and of a duplicate 1 MiB image, next to the floors
// they are judged against (memcpy + XXH3-128; XXH3-128 + memcmp). Compare the pairs' times.
// Every registration's work is checked against what the device counted (untimed): one buffer
// placed by one upload and its code loaded once for a new image, nothing for a duplicate; a
// benchmark whose registrations skipped (or repeated) that work reports an error, not a time.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>

#include "bench_registration.h"
#include "chiprt/worker.h"

namespace chiprt {
namespace {

constexpr size_t kImages = 64;

const std::vector<Bytes>& images() {
  static const std::vector<Bytes> all =
      std::move(cli::one_mib_images(CHIPRT_EXAMPLES_SO_DIR, kImages)).value();
  return all;
}

std::unique_ptr<ChipWorker> make_worker(std::shared_ptr<CodeLoader> loader) {
  WorkerOptions options;
  options.loader = std::move(loader);
  return std::move(
             ChipWorker::create(create_sim_chip(*chip_profile("a2a3"), 256ull << 20), options))
      .value();
}

void BM_Floor_MemcpyPlusXxh3(benchmark::State& state) {
  Bytes scratch(images()[0].size());
  size_t i = 0;
  for (auto _ : state) {
    const Bytes& image = images()[i++ % kImages];
    std::memcpy(scratch.data(), image.data(), image.size());
    benchmark::DoNotOptimize(hash_bytes(image));
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * images()[0].size());
}
BENCHMARK(BM_Floor_MemcpyPlusXxh3);

// What the device counted (I12): callable-tagged allocations and uploads, and code loads.
struct DeviceCounts {
  uint64_t allocations = 0;
  uint64_t uploads = 0;
  uint64_t loads = 0;
};

DeviceCounts device_counts(const ChipWorker& worker) {
  const DeviceStats stats = worker.stats().device;
  const TagStats& callable = stats.tag(MemoryTag::callable);
  return {callable.total_allocations, callable.uploads, stats.code_loads};
}

// Whether the device did what one registration of `image` must do, counted there since
// `before`: `placements` new callable buffers (each one allocation filled by one upload) and,
// with `loads`, the orchestration and each kernel of each placement loaded. Else an error for
// SkipWithError: a registration that skipped its work cannot report a time.
Status check_counts(const ChipWorker& worker, const DeviceCounts& before, const Bytes& image,
                    uint64_t placements, bool loads) {
  auto view = ImageView::parse(image);
  if (!view.ok()) return view.status();
  const DeviceCounts after = device_counts(worker);
  const uint64_t want_loads = loads ? placements * (1 + view->children().size()) : 0;
  if (after.allocations - before.allocations != placements ||
      after.uploads - before.uploads != placements || after.loads - before.loads != want_loads) {
    return Status(
        StatusCode::internal,
        fmt::format("the device counted {} allocations, {} uploads and {} code loads, "
                    "not {}, {} and {}",
                    after.allocations - before.allocations, after.uploads - before.uploads,
                    after.loads - before.loads, placements, placements, want_loads));
  }
  return Status::Ok();
}

// Registers a new image per iteration (timed), then checks what the device counted for it and
// unregisters it (untimed).
void register_new_images(benchmark::State& state, std::shared_ptr<CodeLoader> loader) {
  const bool loads = loader == nullptr;  // the default loader loads on the device
  auto worker = make_worker(std::move(loader));
  size_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const Bytes& image = images()[i++ % kImages];
    const DeviceCounts before = device_counts(*worker);
    state.ResumeTiming();
    auto id = worker->register_callable(image);
    state.PauseTiming();
    Status done = id.ok() ? check_counts(*worker, before, image, 1, loads) : id.status();
    if (done.ok()) done = worker->unregister_callable(*id);
    state.ResumeTiming();
    if (!done.ok()) {
      state.SkipWithError(done.to_string().c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * images()[0].size());
}

void BM_RegisterNewImage_Placement(benchmark::State& state) {
  register_new_images(state, cli::no_load_loader());
}
BENCHMARK(BM_RegisterNewImage_Placement);

void BM_RegisterNewImage_WithLoads(benchmark::State& state) {
  register_new_images(state, nullptr);
}
BENCHMARK(BM_RegisterNewImage_WithLoads);

void BM_Floor_Xxh3PlusMemcmp(benchmark::State& state) {
  const Bytes copy = images()[0];
  for (auto _ : state) {
    benchmark::DoNotOptimize(hash_bytes(copy));
    benchmark::DoNotOptimize(std::memcmp(copy.data(), images()[0].data(), copy.size()));
  }
  state.SetBytesProcessed(state.iterations() * copy.size());
}
BENCHMARK(BM_Floor_Xxh3PlusMemcmp);

// A duplicate registration finds the held image's buffer: the device allocates, uploads and
// loads nothing, and the held buffer gains a reference (checked untimed per iteration).
void BM_RegisterDuplicate(benchmark::State& state) {
  auto worker = make_worker(nullptr);
  auto held = worker->register_callable(images()[0]);
  if (!held.ok()) {
    state.SkipWithError(held.status().to_string().c_str());
    return;
  }
  const uint64_t generation = worker->callable_info(*held)->buffer_generation;
  const Bytes copy = images()[0];
  for (auto _ : state) {
    state.PauseTiming();
    const DeviceCounts before = device_counts(*worker);
    state.ResumeTiming();
    auto id = worker->register_callable(copy);
    state.PauseTiming();
    Status done = id.ok() ? check_counts(*worker, before, copy, 0, true) : id.status();
    if (done.ok()) {
      auto info = worker->callable_info(*id);
      if (!info.ok()) {
        done = info.status();
      } else if (info->buffer_generation != generation || info->refcount != 2) {
        done = Status(StatusCode::internal,
                      fmt::format("the duplicate has buffer generation {} and refcount {}, not "
                                  "the held image's {} and 2",
                                  info->buffer_generation, info->refcount, generation));
      }
    }
    if (done.ok()) done = worker->unregister_callable(*id);
    state.ResumeTiming();
    if (!done.ok()) {
      state.SkipWithError(done.to_string().c_str());
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * copy.size());
}
BENCHMARK(BM_RegisterDuplicate);

}  // namespace
}  // namespace chiprt

BENCHMARK_MAIN();

// Google Benchmark: registration of a new and of a duplicate 1 MiB image, next to the floors
// they are judged against (memcpy + XXH3-128; XXH3-128 + memcmp). Compare the pairs' times.
#include <benchmark/benchmark.h>

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
  return std::move(ChipWorker::create(create_sim_chip(*chip_profile("a2a3"), 256ull << 20), options))
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

// Registers a new image per iteration (timed) and unregisters it (untimed).
void register_new_images(benchmark::State& state, std::shared_ptr<CodeLoader> loader) {
  auto worker = make_worker(std::move(loader));
  size_t i = 0;
  for (auto _ : state) {
    auto id = worker->register_callable(images()[i++ % kImages]);
    state.PauseTiming();
    if (!id.ok() || !worker->unregister_callable(*id).ok()) state.SkipWithError("register failed");
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * images()[0].size());
}

void BM_RegisterNewImage_Placement(benchmark::State& state) {
  register_new_images(state, cli::no_load_loader());
}
BENCHMARK(BM_RegisterNewImage_Placement);

void BM_RegisterNewImage_WithLoads(benchmark::State& state) { register_new_images(state, nullptr); }
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

void BM_RegisterDuplicate(benchmark::State& state) {
  auto worker = make_worker(nullptr);
  auto held = worker->register_callable(images()[0]);
  const Bytes copy = images()[0];
  for (auto _ : state) {
    auto id = worker->register_callable(copy);
    state.PauseTiming();
    if (!id.ok() || !worker->unregister_callable(*id).ok()) state.SkipWithError("register failed");
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * copy.size());
}
BENCHMARK(BM_RegisterDuplicate);

}  // namespace
}  // namespace chiprt

BENCHMARK_MAIN();

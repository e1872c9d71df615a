#include "worker_fixture.h"

#include <fmt/format.h>

namespace chiprt::test {

std::string worker_case_name(const testing::TestParamInfo<WorkerCase>& info) {
  return fmt::format("{}_{}", backend_name(info.param.backend), runtime_name(info.param.runtime));
}

void PrintTo(const WorkerCase& worker_case, std::ostream* os) {
  *os << backend_name(worker_case.backend) << "_" << runtime_name(worker_case.runtime);
}

std::vector<WorkerCase> sim_chip_cases(std::initializer_list<RuntimeKind> runtimes) {
  std::vector<WorkerCase> cases;
  for (Backend backend : kSimChips) {
    for (RuntimeKind runtime : runtimes) cases.push_back({backend, runtime});
  }
  return cases;
}

void WorkerTest::SetUp() {
  recreate(kDefaultCapacity);
}

void WorkerTest::recreate(uint64_t capacity, WorkerOptions options) {
  worker_.reset();
  device_ = make_device(GetParam().backend, capacity);
  loader_ = std::make_shared<CountingLoader>(worker_loader(
      *device_, runtime(), CodeCacheBounds{options.code_cache_entries, options.code_cache_bytes}));
  options.runtime = runtime();
  if (!options.loader) options.loader = loader_;
  if (!options.orchestration_loader) options.orchestration_loader = loader_;
  worker_ = make_worker(device_, std::move(options));
  baseline_ = device_->stats();
}

uint64_t WorkerTest::device_bytes(const Bytes& image) const {
  return placed_bytes(image, runtime());
}

uint64_t WorkerTest::allocation_bytes(const Bytes& image) const {
  return placed_allocation(image, runtime());
}

uint64_t WorkerTest::allocation_bytes(const std::vector<Bytes>& images) const {
  uint64_t sum = 0;
  for (const Bytes& image : images) sum += allocation_bytes(image);
  return sum;
}

CallableId WorkerTest::register_ok(ByteSpan image) {
  Result<CallableId> id = worker_->register_callable(image);
  if (!id.ok()) throw std::runtime_error("register_callable: " + id.status().to_string());
  return *id;
}

void WorkerTest::unregister_ok(CallableId id) {
  const Status status = worker_->unregister_callable(id);
  if (!status.ok()) throw std::runtime_error("unregister_callable: " + status.to_string());
}

CallableInfo WorkerTest::info(CallableId id) const {
  Result<CallableInfo> info = worker_->callable_info(id);
  if (!info.ok()) throw std::runtime_error("callable_info: " + info.status().to_string());
  return *info;
}

void WorkerTest::expect_back_to_baseline() const {
  // Runs leave the worker's intermediate heaps for later runs (see heap_test.cpp): let them go,
  // the baseline was taken before any run.
  worker_->release_idle_memory();
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.device.live_bytes, baseline_.live_bytes);
  EXPECT_EQ(stats.device.live_allocations, baseline_.live_allocations);
  for (size_t tag = 0; tag < kMemoryTagCount; ++tag) {
    EXPECT_EQ(stats.device.tags[tag].live_bytes, baseline_.tags[tag].live_bytes)
        << memory_tag_name(static_cast<MemoryTag>(tag));
  }
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_allocations, 0u);
  EXPECT_EQ(stats.distinct_buffers_live, 0u);
  EXPECT_EQ(stats.registrations_live, 0u);
  // Code no registration uses is unloaded, or kept loaded in the device's code cache.
  EXPECT_EQ(stats.unloads + stats.device.code_cache.entries, stats.loads);
  EXPECT_EQ(loader_->alive(), 0);
}

}  // namespace chiprt::test

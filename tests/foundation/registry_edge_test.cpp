// Edge cases of the registry that a review found: a registration racing a deferred release, a
// loader that throws, and allocation sizes at the top of the address range.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>

#include "foundation/test_support.h"
#include "registry/callable_registry.h"

namespace chiprt::test {
namespace {

uint64_t image_alloc(const Device&, const Bytes& image, RuntimeKind runtime) {
  return placed_allocation(image, runtime);
}

class DeferredReleaseTest : public testing::TestWithParam<RuntimeKind> {};

// Re-registering an image whose last registration is gone but whose buffer a run still leases
// revives that buffer: still one copy, no new loads.
TEST_P(DeferredReleaseTest, RegisteringAgainRevivesTheLeasedBuffer) {
  auto device = make_device(Backend::a2a3);
  auto loader = std::make_shared<CountingLoader>(worker_loader(*device, GetParam()));
  registry::ChipBufferPool pool(*device, GetParam(), loader, {});
  registry::CallableRegistry registry(pool);
  const Bytes image = vector_image("revive");
  const uint64_t one_copy = image_alloc(*device, image, GetParam());

  auto first = registry.register_image(image);
  ASSERT_TRUE(first.ok());
  auto lease = registry.lease(*first);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(registry.unregister(*first).ok());
  EXPECT_EQ(pool.stats().deferred_releases, 1u);

  auto second = registry.register_image(image);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(pool.stats().buffers_live, 1u);
  EXPECT_EQ(pool.stats().buffers_created, 1u);
  EXPECT_EQ(loader->calls(), 4u);  // orchestration + 3 kernels, once
  EXPECT_EQ(callable_live_bytes(*device), one_copy);

  lease->reset();  // the run ends: the revived registration keeps the buffer
  EXPECT_EQ(callable_live_bytes(*device), one_copy);
  ASSERT_TRUE(registry.unregister(*second).ok());
  EXPECT_EQ(callable_live_bytes(*device), 0u);
  EXPECT_EQ(loader->alive(), 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, DeferredReleaseTest,
                         testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

// A loader that throws on its first call, then loads normally (with the device's loader).
class ThrowingOnceLoader final : public CodeLoader {
 public:
  explicit ThrowingOnceLoader(std::shared_ptr<CodeLoader> inner) : inner_(std::move(inner)) {}
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan so, const char* entry) override {
    if (!thrown_.exchange(true)) throw std::runtime_error("loader exploded");
    return inner_->load(so, entry);
  }

 private:
  std::shared_ptr<CodeLoader> inner_;
  std::atomic<bool> thrown_{false};
};

TEST(RegistryExceptions, AThrowingLoaderLeavesNoTraceAndBlocksNothing) {
  auto device = make_device(Backend::a2a3);
  WorkerOptions options;
  options.loader = std::make_shared<ThrowingOnceLoader>(device->code_loader());
  auto worker = make_worker(device, options);
  const Bytes image = vector_image("throws");
  auto failed = worker->register_callable(image);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::internal);
  EXPECT_NE(failed.status().message().find("loader exploded"), std::string_view::npos);
  EXPECT_EQ(device->stats().live_bytes, 0u);
  EXPECT_EQ(worker->stats().distinct_buffers_live, 0u);
  // The same image registers afterwards (no stuck creation), with the id the failure did not use.
  auto next = std::async(std::launch::async, [&] { return worker->register_callable(image); });
  ASSERT_EQ(next.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto id = next.get();
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(*id, id_at(0, 0));
}

TEST(DeviceLimits, SizesNearTheTopOfTheRangeAreOutOfMemory) {
  auto device = make_device(Backend::a2a3);
  for (uint64_t bytes : {UINT64_MAX, UINT64_MAX - 100, UINT64_MAX - 511}) {
    auto buffer = device->allocate(bytes, MemoryTag::other);
    ASSERT_FALSE(buffer.ok()) << bytes;
    EXPECT_EQ(buffer.status().code(), StatusCode::out_of_device_memory);
  }
  EXPECT_EQ(device->stats().live_allocations, 0u);
  auto normal = device->allocate(100, MemoryTag::other);
  ASSERT_TRUE(normal.ok());
  EXPECT_NE(device->host_pointer(normal->addr(), 100), nullptr);
  EXPECT_EQ(device->stats().live_bytes, 512u);
}

}  // namespace
}  // namespace chiprt::test

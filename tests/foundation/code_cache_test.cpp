// The device's code cache (CodeCacheBounds): the last unregister of an image leaves its code
// loaded in the device process, and a later registration of the same code objects takes them
// back instead of loading again; device memory is freed at the last unregister all the same.
// Figures are the device's own counts (DeviceStats::code_loads, code_cache); expectations come
// from how each image was built (its objects and their sizes), never from the cache. Runs on
// SimChip a2a3 and a5, tmr and hbg (on hbg the orchestration is the sandbox's, never cached:
// the device loads the kernels alone).
#include <cstring>
#include <numeric>

#include "device/protocol.h"
#include "device_process/code_cache.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

constexpr int64_t kRows = 4;
constexpr int64_t kCols = 8;
constexpr float kA = 2.0f;
constexpr float kB = 3.0f;
// The vector orchestration computes s = op1(a, b); t1 = s + 1; t2 = s + 2; f = op3(t1, t2);
// f = op1(f, s). 1 -> add, 3 -> mul: s = 5, f = 6 * 7 + 5 = 47. Swapped: s = 6, f = 15 * 6 = 90.
constexpr float kAddMulOutput = 47.0f;
constexpr float kMulAddOutput = 90.0f;

Bytes mul_add_image() {
  return make_image(example_so("orch_vector.so"),
                    {{1, CoreType::aiv, &example_so("kernel_mul.so")},
                     {2, CoreType::aiv, &example_so("kernel_add_scalar.so")},
                     {3, CoreType::aiv, &example_so("kernel_add.so")}},
                    "mul-add");
}

// Fixture image A with orchestration B: the same size as A, other bytes.
Bytes fixture_image_a_with_orch_b() {
  return make_image(fixture_so("fixture_orch_b.so"),
                    {{1, CoreType::aic, &fixture_so("fixture_kernel_a.so")},
                     {2, CoreType::aiv, &fixture_so("fixture_kernel_b.so")}},
                    "fixture");
}

RunArgs vector_args() {
  RunArgs args;
  for (auto [name, value] : {std::pair{"a", kA}, std::pair{"b", kB}}) {
    HostTensor tensor{CHIPRT_DTYPE_F32, {kRows, kCols}, Bytes(kRows * kCols * sizeof(float))};
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      std::memcpy(tensor.data.data() + i * sizeof(float), &value, sizeof(float));
    }
    args.tensors.emplace(name, std::move(tensor));
  }
  return args;
}

class CodeCacheTest : public WorkerTest {
 protected:
  void SetUp() override { recreate(kDefaultCapacity, WorkerOptions{}); }  // the default bounds
  DeviceStats device() const { return worker_->stats().device; }
  // The objects of an image that the device itself loads: on hbg, the kernels alone.
  std::vector<const Bytes*> on_device(const Bytes* orchestration,
                                      std::vector<const Bytes*> kernels) const {
    if (tmr()) kernels.insert(kernels.begin(), orchestration);
    return kernels;
  }
  std::vector<const Bytes*> vector_objects() const {
    return on_device(&example_so("orch_vector.so"),
                     {&example_so("kernel_add.so"), &example_so("kernel_add_scalar.so"),
                      &example_so("kernel_mul.so")});
  }
  std::vector<const Bytes*> fixture_a_objects() const {
    return on_device(&fixture_so("fixture_orch_a.so"),
                     {&fixture_so("fixture_kernel_a.so"), &fixture_so("fixture_kernel_b.so")});
  }
  static uint64_t total_bytes(const std::vector<const Bytes*>& objects) {
    return std::accumulate(objects.begin(), objects.end(), uint64_t{0},
                           [](uint64_t sum, const Bytes* b) { return sum + b->size(); });
  }
  void expect_runs_to(CallableId id, float expected) {
    Result<RunReport> report = worker_->run(id, vector_args());
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    auto f = report->outputs.find("f");
    ASSERT_NE(f, report->outputs.end());
    ASSERT_EQ(f->second.data.size(), kRows * kCols * sizeof(float));
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      float value;
      std::memcpy(&value, f->second.data.data() + i * sizeof(float), sizeof(float));
      ASSERT_EQ(value, expected) << "element " << i;
    }
  }
  void expect_callable_memory_at_baseline() const {
    const DeviceStats now = device();
    EXPECT_EQ(now.live_bytes, baseline_.live_bytes);
    EXPECT_EQ(now.live_allocations, baseline_.live_allocations);
    EXPECT_EQ(now.tag(MemoryTag::callable).live_bytes, 0u);
    EXPECT_EQ(now.tag(MemoryTag::callable).live_allocations, 0u);
  }
};

TEST_P(CodeCacheTest, ReRegistrationOfAReleasedImageLoadsNothingAndFreesDeviceMemoryAsBefore) {
  const Bytes image = vector_image();
  const uint64_t objects = vector_objects().size();
  const uint64_t object_bytes = total_bytes(vector_objects());

  CallableId id = register_ok(image);
  expect_runs_to(id, kAddMulOutput);
  unregister_ok(id);
  worker_->release_idle_memory();
  DeviceStats after = device();
  EXPECT_EQ(after.code_loads, objects);
  EXPECT_EQ(after.code_unloads, 0u) << "the released code stays loaded, cached";
  EXPECT_EQ(after.code_cache.entries, objects);
  EXPECT_EQ(after.code_cache.bytes, object_bytes);
  EXPECT_EQ(after.code_cache.misses, objects);
  EXPECT_EQ(after.code_cache.hits, 0u);
  EXPECT_EQ(after.code_cache.evictions, 0u);
  expect_callable_memory_at_baseline();  // the cache holds no device memory

  for (uint64_t round = 1; round <= 3; ++round) {
    const uint64_t uploads = device().tag(MemoryTag::callable).uploads;
    id = register_ok(image);
    after = device();
    EXPECT_EQ(after.code_loads, objects) << "round " << round << ": no new load";
    EXPECT_EQ(after.code_cache.hits, round * objects);
    EXPECT_EQ(after.code_cache.misses, objects);
    EXPECT_EQ(after.code_cache.entries, 0u) << "code in use is not in the cache";
    EXPECT_EQ(after.code_cache.bytes, 0u);
    EXPECT_EQ(after.tag(MemoryTag::callable).uploads, uploads + 1)
        << "the image's bytes are uploaded again: the device copy is the source of truth";
    expect_runs_to(id, kAddMulOutput);
    unregister_ok(id);
    worker_->release_idle_memory();
    after = device();
    EXPECT_EQ(after.code_cache.entries, objects);
    EXPECT_EQ(after.code_cache.bytes, object_bytes);
    EXPECT_EQ(after.code_unloads, 0u);
    expect_callable_memory_at_baseline();
  }
  expect_back_to_baseline();
}

TEST_P(CodeCacheTest, CachedObjectsServeAnotherImageOfTheSameObjectsByContent) {
  const uint64_t objects = vector_objects().size();
  unregister_ok(register_ok(vector_image("add-mul")));
  // The same four objects, the kernels under other func_ids: the cache is by content.
  const CallableId id = register_ok(mul_add_image());
  EXPECT_EQ(device().code_loads, objects);
  EXPECT_EQ(device().code_cache.hits, objects);
  expect_runs_to(id, kMulAddOutput);
  unregister_ok(id);
  expect_back_to_baseline();
}

TEST_P(CodeCacheTest, AnObjectOfTheSameSizeButOtherBytesIsLoadedNotConfused) {
  ASSERT_EQ(fixture_so("fixture_orch_a.so").size(), fixture_so("fixture_orch_b.so").size())
      << "the premise: the two orchestrations differ in their marker alone";
  ASSERT_NE(fixture_so("fixture_orch_a.so"), fixture_so("fixture_orch_b.so"));
  const uint64_t objects = fixture_a_objects().size();
  const CallableId a = register_ok(fixture_image_a());
  EXPECT_EQ(orchestration_marker(*worker_, a), kOrchAMarker);
  unregister_ok(a);

  const CallableId b = register_ok(fixture_image_a_with_orch_b());
  const uint64_t kernels = 2;
  EXPECT_EQ(device().code_cache.hits, kernels) << "the kernels are the same objects";
  EXPECT_EQ(device().code_loads, objects + (tmr() ? 1 : 0))
      << "the other orchestration is loaded, not taken from the cache";
  EXPECT_EQ(orchestration_marker(*worker_, b), kOrchBMarker);
  unregister_ok(b);
  expect_back_to_baseline();
}

TEST_P(CodeCacheTest, TheEntryBoundEvictsTheLeastRecentlyCachedExactly) {
  const uint64_t vector = vector_objects().size();
  const uint64_t fixture = fixture_a_objects().size();
  ASSERT_GT(vector, fixture);
  WorkerOptions options;
  options.code_cache_entries = static_cast<uint32_t>(vector);
  recreate(kDefaultCapacity, options);

  unregister_ok(register_ok(vector_image()));
  EXPECT_EQ(device().code_cache.entries, vector);
  EXPECT_EQ(device().code_cache.evictions, 0u);
  const CallableId live = register_ok(fixture_image_b());  // in use: never evicted
  unregister_ok(register_ok(fixture_image_a()));
  DeviceStats after = device();
  EXPECT_EQ(after.code_cache.entries, vector);
  EXPECT_EQ(after.code_cache.evictions, fixture) << "one vector object out per fixture object";
  EXPECT_EQ(after.code_unloads, fixture) << "evicted code is unloaded";
  const uint64_t loads = after.code_loads;

  // The most recently cached, all of fixture A's objects, come back without a load.
  const CallableId again = register_ok(fixture_image_a());
  EXPECT_EQ(device().code_loads, loads);
  EXPECT_EQ(orchestration_marker(*worker_, again), kOrchAMarker);
  EXPECT_EQ(orchestration_marker(*worker_, live), kOrchBMarker);
  unregister_ok(again);
  unregister_ok(live);
  expect_back_to_baseline();
}

// On tmr, where the orchestration is the device's: a byte bound of exactly fixture image A's
// objects.
class TmrCodeCacheTest : public CodeCacheTest {};

TEST_P(TmrCodeCacheTest, TheByteBoundEvictsTheLeastRecentlyCachedExactly) {
  const uint64_t bound = total_bytes(fixture_a_objects());
  WorkerOptions options;
  options.code_cache_bytes = bound;
  recreate(kDefaultCapacity, options);

  unregister_ok(register_ok(fixture_image_a()));
  EXPECT_EQ(device().code_cache.bytes, bound);
  EXPECT_EQ(device().code_cache.evictions, 0u);
  // Its kernels come back from the cache, orchestration B loads; released, all three are cached
  // after orchestration A, which no longer fits: out.
  unregister_ok(register_ok(fixture_image_a_with_orch_b()));
  DeviceStats after = device();
  EXPECT_EQ(after.code_cache.hits, 2u);
  EXPECT_EQ(after.code_cache.evictions, 1u);
  EXPECT_EQ(after.code_cache.entries, 3u);
  EXPECT_EQ(after.code_cache.bytes, bound);  // the two orchestrations are of one size
  EXPECT_EQ(after.code_unloads, 1u);
  const uint64_t loads = after.code_loads;
  EXPECT_EQ(loads, 4u);

  const CallableId a = register_ok(fixture_image_a());
  EXPECT_EQ(device().code_loads, loads + 1) << "orchestration A was evicted: loaded again";
  EXPECT_EQ(device().code_cache.hits, 4u);
  EXPECT_EQ(orchestration_marker(*worker_, a), kOrchAMarker);
  unregister_ok(a);
  expect_back_to_baseline();
}

TEST_P(CodeCacheTest, AZeroBoundDisablesTheCache) {
  const uint64_t objects = vector_objects().size();
  for (bool entries : {true, false}) {
    WorkerOptions options;
    if (entries) {
      options.code_cache_entries = 0;
    } else {
      options.code_cache_bytes = 0;
    }
    recreate(kDefaultCapacity, options);
    for (uint64_t round = 1; round <= 3; ++round) {
      unregister_ok(register_ok(vector_image()));
      const DeviceStats after = device();
      EXPECT_EQ(after.code_loads, round * objects) << "every registration loads";
      EXPECT_EQ(after.code_unloads, round * objects) << "every last unregister unloads";
      EXPECT_EQ(after.code_cache.entries, 0u);
      EXPECT_EQ(after.code_cache.hits, 0u);
      EXPECT_EQ(after.code_cache.misses, 0u);
    }
    expect_back_to_baseline();
  }
}

TEST_P(CodeCacheTest, ADeviceResetStartsWithAnEmptyCache) {
  const uint64_t objects = vector_objects().size();
  unregister_ok(register_ok(vector_image()));
  ASSERT_EQ(device().code_cache.entries, objects);
  ASSERT_TRUE(worker_->reset().ok());
  DeviceStats after = device();
  EXPECT_EQ(after.code_cache.entries, 0u);
  EXPECT_EQ(after.code_cache.bytes, 0u);
  EXPECT_EQ(after.code_cache.hits, 0u);
  EXPECT_EQ(after.code_cache.misses, 0u);
  EXPECT_EQ(after.code_unloads, objects) << "the ended process unloaded what it cached";
  const CallableId id = register_ok(vector_image());
  EXPECT_EQ(device().code_loads, 2 * objects) << "the fresh device loads again";
  expect_runs_to(id, kAddMulOutput);
  unregister_ok(id);
}

INSTANTIATE_TEST_SUITE_P(SimChips, CodeCacheTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);
INSTANTIATE_TEST_SUITE_P(SimChips, TmrCodeCacheTest,
                         testing::ValuesIn(sim_chip_cases({RuntimeKind::tmr})), worker_case_name);

// The cache itself, with hashes chosen by the test: an entry is taken only for exactly its bytes
// and entry symbol, whatever the hash says.
class FakeCode final : public LoadedCode {
 public:
  void* entry() const override { return nullptr; }
  void* symbol(const char*) const override { return nullptr; }
};

TEST(CodeCacheUnitTest, AHashCollisionWithOtherBytesOrSymbolIsAMiss) {
  device::protocol::StatusPage::CodeCache published{};
  device_process::CodeCache cache(published);
  const Bytes cached(64, std::byte{7});
  Bytes other = cached;
  other[63] = std::byte{8};
  const ImageHash hash{1, 2};  // every lookup below claims this hash
  auto owned = std::make_unique<FakeCode>();
  const LoadedCode* code = owned.get();
  EXPECT_TRUE(cache.put({hash, "entry", cached, std::move(owned), 0}, {}).empty());
  EXPECT_EQ(cache.take(other, hash, "entry").code, nullptr) << "same hash and size, other bytes";
  EXPECT_EQ(cache.take(cached, hash, "other_entry").code, nullptr) << "other entry symbol";
  EXPECT_EQ(cache.take(Bytes(63, std::byte{7}), hash, "entry").code, nullptr) << "other size";
  EXPECT_EQ(published.misses.load(), 3u);
  EXPECT_EQ(published.entries.load(), 1u);
  EXPECT_EQ(cache.take(cached, hash, "entry").code.get(), code);
  EXPECT_EQ(published.hits.load(), 1u);
  EXPECT_EQ(published.entries.load(), 0u);
  EXPECT_EQ(published.bytes.load(), 0u);
}

TEST(CodeCacheUnitTest, AnObjectLargerThanTheByteBoundIsNotCached) {
  device::protocol::StatusPage::CodeCache published{};
  device_process::CodeCache cache(published);
  const CodeCacheBounds bounds{4, 63};
  auto out = cache.put({{1, 2}, "entry", Bytes(64), std::make_unique<FakeCode>(), 0}, bounds);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(published.entries.load(), 0u);
  EXPECT_EQ(published.evictions.load(), 0u);
}

}  // namespace
}  // namespace chiprt::test

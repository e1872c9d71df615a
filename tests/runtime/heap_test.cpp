// The intermediate heap is device memory, on both runtimes: one runtime-tagged allocation of
// the heap limit per worker (made at the first run that needs it, reused, freed at finalize),
// intermediates placed inside it, so the device's runtime-tagged peak during a run is the heap
// plus the reported fixed structures; hbg reuses heap bytes across scopes and orders the reuse.
#include <atomic>
#include <chrono>
#include <thread>

#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

constexpr uint64_t kGranularity = 512;  // the simulated chip's allocation granularity
constexpr uint64_t kBlock = 64;         // the heap's block: a 16-float intermediate is one

uint64_t rounded(uint64_t bytes) {
  return (bytes + kGranularity - 1) / kGranularity * kGranularity;
}

class IntermediateHeapTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  Rig rig(uint64_t heap_bytes) {
    WorkerOptions options;
    options.heap_bytes = heap_bytes;
    return make_rig("a2a3", GetParam(), options);
  }
  static Bytes many() {
    return test_image("orch_many.so", {{2, CoreType::aiv, "kernel_dag_op.so"}});
  }
  // x = 1 of 16 floats (64 bytes): every intermediate of orch_many is one heap block.
  static RunArgs many_args(uint64_t count) {
    RunArgs args;
    args.tensors["x"] = host_f32({1, 16}, std::vector<float>(16, 1.0f));
    args.scalars["count"] = static_cast<double>(count);
    return args;
  }
  static void expect_sum(const RunReport& report, uint64_t count) {
    float want = 0;
    for (uint64_t i = 0; i < count; ++i) want += static_cast<float>(i % 7);
    const auto acc = floats(report.outputs.at("acc"));
    ASSERT_EQ(acc.size(), 16u);
    for (float v : acc) ASSERT_EQ(v, want);
  }
  static const TagStats& runtime_tag(const DeviceStats& s) { return s.tag(MemoryTag::runtime); }
};

TEST_P(IntermediateHeapTest, FourThousandIntermediatesFitAHeapOfHalfAMebibyte) {
  const uint64_t heap = 512 << 10;
  Rig r = rig(heap);
  auto id = r.worker->register_callable(many());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  ASSERT_EQ(runtime_tag(r.device->stats()).peak_bytes, 0u);
  auto report = r.worker->run(*id, many_args(4000));
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->tasks, 2u * 4000 + 1);
  expect_sum(*report, 4000);
  // All 4,000 stay live in their one scope: 4,000 blocks of 64 bytes.
  EXPECT_EQ(report->peak_heap_bytes, 4000 * kBlock);
  const TagStats runtime = runtime_tag(r.device->stats());
  // The heap limit bounds what intermediates take from the device: one heap, plus the fixed
  // structures the run reports (hbg: its graph; tmr: none).
  EXPECT_LE(runtime.peak_bytes, heap + report->runtime_fixed_bytes);
  EXPECT_GE(runtime.peak_bytes, heap);  // the heap is device memory
  if (GetParam() == RuntimeKind::tmr) {
    EXPECT_EQ(report->runtime_fixed_bytes, 0u);
  } else {
    EXPECT_GT(report->runtime_fixed_bytes, 0u);
  }
  EXPECT_EQ(runtime.total_allocations, GetParam() == RuntimeKind::tmr ? 1u : 2u);  // + graph
}

TEST_P(IntermediateHeapTest, FourThousandIntermediatesFailFastOnASmallerHeap) {
  Rig r = rig(64 << 10);  // 1,024 blocks of 64 bytes
  auto id = r.worker->register_callable(many());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto warm = r.worker->run(*id, many_args(1024));  // exactly fills the heap
  ASSERT_TRUE(warm.ok()) << warm.status().to_string();
  expect_sum(*warm, 1024);
  EXPECT_EQ(warm->peak_heap_bytes, 64u << 10);
  const DeviceStats before = r.device->stats();
  const auto start = std::chrono::steady_clock::now();
  auto report = r.worker->run(*id, many_args(4000));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::resource_exhausted) << report.status().to_string();
  EXPECT_NE(report.status().message().find("65536"), std::string_view::npos)
      << report.status().to_string();
  EXPECT_LT(took, std::chrono::seconds(5));  // fails, does not wait for a deadline
  const DeviceStats after = r.device->stats();
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(runtime_tag(after).live_bytes, runtime_tag(before).live_bytes);
  EXPECT_EQ(after.tag(MemoryTag::tensor).live_bytes, 0u);
}

TEST_P(IntermediateHeapTest, HeapIsOneAllocationOfTheLimitUntilFinalize) {
  const uint64_t heap = 100000;  // not a multiple of the granularity
  Rig r = rig(heap);
  auto id = r.worker->register_callable(many());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(runtime_tag(r.device->stats()).live_bytes, 0u);  // lazy: no run yet
  EXPECT_EQ(r.worker->stats().heaps, 0u);
  for (int run = 0; run < 3; ++run) {
    auto report = r.worker->run(*id, many_args(10));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    expect_sum(*report, 10);
    const WorkerStats s = r.worker->stats();
    EXPECT_EQ(s.heaps, 1u);  // sequential runs reuse the one heap
    EXPECT_EQ(s.heap_bytes_reserved, rounded(heap));
    // Besides the heap, only hbg's cached graph is tagged runtime.
    EXPECT_EQ(runtime_tag(s.device).live_bytes, rounded(heap) + report->graph_cache_bytes);
  }
  // Dropping the callable drops its cached graphs: the heap alone stays while the worker lives.
  ASSERT_TRUE(r.worker->unregister_callable(*id).ok());
  const TagStats kept = runtime_tag(r.device->stats());
  EXPECT_EQ(kept.live_bytes, 100352u);  // 196 granules of 512
  EXPECT_EQ(kept.live_allocations, 1u);
  r.worker->finalize();
  const TagStats gone = runtime_tag(r.device->stats());
  EXPECT_EQ(gone.live_bytes, 0u);
  EXPECT_EQ(gone.live_allocations, 0u);
  EXPECT_EQ(r.worker->stats().heaps, 0u);
}

TEST_P(IntermediateHeapTest, ConcurrentRunsEachBorrowAHeapOfThePool) {
  const uint64_t heap = 8192;
  Rig r = rig(heap);
  auto id = r.worker->register_callable(many());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  constexpr int kThreads = 4;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto report = r.worker->run(*id, many_args(100));
        float want = 0;
        for (uint64_t k = 0; k < 100; ++k) want += static_cast<float>(k % 7);
        if (report.ok() && floats(report->outputs.at("acc"))[15] == want) ++good;
        if (!report.ok()) ADD_FAILURE() << report.status().to_string();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * 10);
  const WorkerStats s = r.worker->stats();
  EXPECT_GE(s.heaps, 1u);
  EXPECT_LE(s.heaps, static_cast<uint64_t>(kThreads));   // never more than runs at once
  ASSERT_TRUE(r.worker->unregister_callable(*id).ok());  // drops hbg's graph
  EXPECT_EQ(runtime_tag(r.device->stats()).live_bytes, s.heaps * rounded(heap));
  r.worker->finalize();
  EXPECT_EQ(runtime_tag(r.device->stats()).live_bytes, 0u);
}

// One heap block for every intermediate: each iteration's tmp reuses the bytes of the one before.
// hbg replays out of order, so only the reuse dependencies keep a writer of the new tmp from
// overwriting the old one before its reader ran; the sum is exact only if every reuse is ordered.
TEST_P(IntermediateHeapTest, ReusedHeapBytesAreOrderedAfterTheirEarlierUsers) {
  const uint64_t heap = 256;  // one tmp of 64 floats
  Rig r = rig(heap);
  auto id = r.worker->register_callable(
      test_image("orch_stream.so", {{2, CoreType::aiv, "kernel_dag_op.so"}}));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  RunArgs args;
  args.tensors["x"] = host_f32({1, 64}, std::vector<float>(64, 1.0f));
  const uint64_t iterations = 20000;
  args.scalars["iterations"] = static_cast<double>(iterations);
  float want = 0;
  for (uint64_t i = 0; i < iterations; ++i) want += static_cast<float>(i % 7);
  for (int run = 0; run < 3; ++run) {  // hbg: the recording, then replays of the cached graph
    auto report = r.worker->run(*id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->tasks, 2 * iterations + 1);
    EXPECT_EQ(report->peak_heap_bytes, heap);
    for (float v : floats(report->outputs.at("acc"))) ASSERT_EQ(v, want) << "run " << run;
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, IntermediateHeapTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt::testing

// The intermediate heap is device memory, on both runtimes: one runtime-tagged allocation of
// the heap limit per worker (made at the first run that needs it, reused, freed at finalize),
// intermediates placed inside it, so the device's runtime-tagged peak during a run is the heap
// plus the reported fixed structures; hbg reuses heap bytes across scopes and orders the reuse.
#include <atomic>
#include <chrono>
#include <iostream>
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

// Two runs that can only both succeed while both are in flight at once (orch_rendezvous: each
// run's rendezvous kernel waits until the other run's has signalled through a device tensor both
// runs take as a device input), so each held a heap of the pool at the same time: exactly two
// heaps, whatever the timing. Runs serialized on one heap fail it: the first run's kernel gives
// up after its bound (a kernel failure), the second finds the first's signal and passes.
TEST_P(IntermediateHeapTest, ConcurrentRunsEachBorrowAHeapOfThePool) {
  const uint64_t heap = 8192;
  constexpr uint32_t kExecutionThreads = 2;  // one for each run's waiting kernel
  auto profile = chip_profile("a2a3");
  ASSERT_TRUE(profile.ok());
  SimChipOptions chip_options;
  chip_options.execution_threads = kExecutionThreads;
  auto device = create_sim_chip(*profile, 1ull << 30, chip_options);
  ASSERT_NE(device, nullptr);
  WorkerOptions options;
  options.runtime = GetParam();
  options.heap_bytes = heap;
  auto made = ChipWorker::create(device, options);
  ASSERT_TRUE(made.ok()) << made.status().to_string();
  std::unique_ptr<ChipWorker> worker = std::move(made).value();
  ASSERT_EQ(worker->stats().heaps, 0u);
  auto id = worker->register_callable(
      test_image("orch_rendezvous.so", {{1, CoreType::aiv, "kernel_rendezvous.so"}}));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  auto flags = worker->to_device(HostTensor{CHIPRT_DTYPE_I32, {4}, Bytes(16)});  // zeros
  ASSERT_TRUE(flags.ok()) << flags.status().to_string();
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

  // hbg: the device's channel thread runs a launched graph's first tasks itself (for a bounded
  // time). A rendezvous kernel waiting there before the other run's launch was read would hold
  // that launch back, so one that finds itself on a helping thread (core index of the pool's
  // thread count or more: the a2a3 profile has 48 AIV cores) first waits for the other run's
  // first task to start; if it does not within 2 s, the kernel signals and fails (11), and the
  // round is tried again. Each run's first task outlasts the channel thread's help (20 ms) and
  // the rendezvous is not the task that thread runs after it, so this is rare.
  const uint64_t helper_core_from = GetParam() == RuntimeKind::hbg ? kExecutionThreads : 0;
  constexpr int kAttempts = 20;
  int met = 0, retried = 0;
  for (int round = 1; round <= kAttempts && met == 0; ++round) {
    Result<RunReport> reports[2] = {Status(StatusCode::internal, "not run"),
                                    Status(StatusCode::internal, "not run")};
    std::vector<std::thread> sides;
    for (int side = 0; side < 2; ++side) {
      sides.emplace_back([&, side] {
        RunArgs args;
        args.tensors["x"] = host_f32({16}, x);
        args.device_inputs["flags"] = flags->ref();
        args.scalars["side"] = side;
        args.scalars["round"] = round;
        args.scalars["helper_core_from"] = static_cast<double>(helper_core_from);
        reports[side] = worker->run(*id, args);
      });
    }
    for (auto& t : sides) t.join();
    bool helped = false, ok = true;
    for (int side = 0; side < 2; ++side) {
      const auto& report = reports[side];
      if (!report.ok() && report.status().message().find("returned 11") != std::string::npos) {
        helped = true;
        continue;
      }
      EXPECT_TRUE(report.ok()) << "side " << side << ": " << report.status().to_string();
      if (!report.ok()) {
        ok = false;
        continue;
      }
      EXPECT_EQ(report->tasks, 3u);
      EXPECT_EQ(floats(report->outputs.at("met")), std::vector<float>{1.0f}) << "side " << side;
      const auto out = floats(report->outputs.at("out"));
      ASSERT_EQ(out.size(), x.size());
      for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(out[i], x[i] + 1.0f) << i;
    }
    if (!ok) break;
    if (helped) {
      ++retried;
    } else {
      ++met;
    }
  }
  ASSERT_EQ(met, 1) << "the two runs never met in " << kAttempts << " rounds (" << retried
                    << " ran a rendezvous kernel on a helping thread)";
  if (retried > 0) std::cout << "rounds tried again: " << retried << "\n";
  const WorkerStats s = worker->stats();
  EXPECT_EQ(s.heaps, 2u);  // two runs were in flight at once, never more
  EXPECT_EQ(s.heap_bytes_reserved, 2 * rounded(heap));
  ASSERT_TRUE(worker->unregister_callable(*id).ok());  // drops hbg's graphs
  EXPECT_EQ(runtime_tag(device->stats()).live_bytes, 2 * rounded(heap));
  worker->finalize();
  EXPECT_EQ(runtime_tag(device->stats()).live_bytes, 0u);
}

// Many runs at once on the default device: each a correct result, and the pool never holds more
// heaps than runs were in flight.
TEST_P(IntermediateHeapTest, ConcurrentRunsHoldNoMoreHeapsThanRuns) {
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
        if (report.ok() && floats(report->outputs.at("acc")) == std::vector<float>(16, want)) {
          ++good;
        }
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

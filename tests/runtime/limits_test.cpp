// Bounded resources and failure paths of a run: ring and heap bounds under 100,000 tasks,
// impossible requests failing fast with the limit named, kernel failures, unknown func_ids,
// unregister during a run, concurrent runs, and idle cores that use no CPU.
#include <time.h>

#include <atomic>
#include <chrono>
#include <span>
#include <thread>

#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

// The a2a3 profile's default heap limit; a multiple of the device granularity, so the worker's
// heap allocation is exactly this large.
constexpr uint64_t kA2a3HeapBytes = 64ull << 20;

class LimitsTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  Rig rig(WorkerOptions options = {}) { return make_rig("a2a3", GetParam(), options); }
  static Bytes probe() {
    return test_image("orch_probe.so", {{1, CoreType::aiv, "kernel_probe.so"}});
  }
  static RunArgs probe_args(int mode, size_t n = 64) {
    RunArgs args;
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
    args.tensors["x"] = host_f32({static_cast<int64_t>(n)}, x);
    args.scalars["mode"] = mode;
    return args;
  }
  static void expect_plus_one(const RunReport& report, size_t n = 64) {
    const auto out = floats(report.outputs.at("out"));
    ASSERT_EQ(out.size(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], static_cast<float>(i) + 1.0f);
  }
};

TEST_P(LimitsTest, HundredThousandTasksStayWithinRingAndHeap) {
  WorkerOptions options;
  options.ring_slots = 64;
  options.heap_bytes = 4096;  // 16 live intermediates of 256 bytes
  Rig r = rig(options);
  auto id = r.worker->register_callable(
      test_image("orch_stream.so", {{2, CoreType::aiv, "kernel_dag_op.so"}}));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  const uint64_t before = r.device->stats().live_bytes;
  RunArgs args;
  args.tensors["x"] = host_f32({1, 64}, std::vector<float>(64, 1.0f));
  const uint64_t iterations = 50000;
  args.scalars["iterations"] = static_cast<double>(iterations);
  auto report = r.worker->run(*id, args);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->tasks, 2 * iterations + 1);
  if (GetParam() == RuntimeKind::tmr) {  // hbg has no ring: it replays a recorded graph
    EXPECT_LE(report->peak_ring_occupancy, 64u);
    EXPECT_GT(report->peak_ring_occupancy, 1u);
  }
  EXPECT_LE(report->peak_heap_bytes, 4096u);
  EXPECT_GT(report->peak_heap_bytes, 0u);
  float want = 0;
  for (uint64_t i = 0; i < iterations; ++i) want += static_cast<float>(i % 7);
  for (float v : floats(report->outputs.at("acc"))) ASSERT_EQ(v, want);
  // What stays: the worker's heap (4096 bytes, a multiple of the granularity) and hbg's graph.
  EXPECT_EQ(r.device->stats().live_bytes, before + 4096 + report->graph_cache_bytes);
}

TEST_P(LimitsTest, IntermediateLargerThanTheHeapFailsNamingTheLimit) {
  WorkerOptions options;
  options.heap_bytes = 1 << 16;
  Rig r = rig(options);
  auto id = r.worker->register_callable(probe());
  ASSERT_TRUE(id.ok());
  const uint64_t before = r.device->stats().live_bytes;
  RunArgs args = probe_args(2);
  args.scalars["bytes"] = (1 << 16) + 1;
  auto report = r.worker->run(*id, args);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::resource_exhausted);
  EXPECT_NE(report.status().message().find("65536"), std::string_view::npos)
      << report.status().to_string();
  EXPECT_NE(report.status().message().find("heap_bytes"), std::string_view::npos);
  // tmr lent the run the worker's heap (kept for later runs); hbg failed while recording.
  EXPECT_EQ(r.device->stats().live_bytes,
            before + (GetParam() == RuntimeKind::tmr ? uint64_t{1} << 16 : 0));
  auto next = r.worker->run(*id, probe_args(0));  // the worker stays usable
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  expect_plus_one(*next);
}

TEST_P(LimitsTest, HeapHeldByOpenScopesFailsInsteadOfHanging) {
  WorkerOptions options;
  options.heap_bytes = 1 << 14;
  Rig r = rig(options);
  auto id = r.worker->register_callable(probe());
  ASSERT_TRUE(id.ok());
  RunArgs args = probe_args(4);
  args.scalars["bytes"] = 1000;
  auto report = r.worker->run(*id, args);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::resource_exhausted) << report.status().to_string();
  EXPECT_NE(report.status().message().find("heap"), std::string_view::npos);
  EXPECT_TRUE(r.worker->run(*id, probe_args(0)).ok());
}

TEST_P(LimitsTest, KernelFailureNamesTaskAndFuncIdAndWorkerStaysUsable) {
  Rig r = rig();
  auto id = r.worker->register_callable(probe());
  ASSERT_TRUE(id.ok());
  const uint64_t before = r.device->stats().live_bytes;
  RunArgs args = probe_args(1);
  args.scalars["fail_at"] = 2;
  auto report = r.worker->run(*id, args);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kernel_failed);
  EXPECT_NE(report.status().message().find("task 2 (func_id 1)"), std::string_view::npos)
      << report.status().to_string();
  EXPECT_NE(report.status().message().find("returned 7"), std::string_view::npos);
  if (GetParam() == RuntimeKind::tmr) {  // hbg keeps the recorded graph cached
    EXPECT_EQ(r.device->stats().live_bytes, before + kA2a3HeapBytes);  // the worker's heap stays
  }
  auto next = r.worker->run(*id, probe_args(0));
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  expect_plus_one(*next);
  EXPECT_EQ(r.device->stats().tag(MemoryTag::tensor).live_bytes, 0u);
}

TEST_P(LimitsTest, StaleFuncIdFromAnEarlierCallableIsNotFound) {
  Rig r = rig();
  auto vector = r.worker->register_callable(example_image("vector"));  // func_ids 1, 2, 3
  ASSERT_TRUE(vector.ok());
  RunArgs vargs;
  vargs.tensors["a"] = host_f32({4}, {1, 2, 3, 4});
  vargs.tensors["b"] = host_f32({4}, {1, 2, 3, 4});
  ASSERT_TRUE(r.worker->run(*vector, vargs).ok());
  ASSERT_TRUE(r.worker->unregister_callable(*vector).ok());
  auto id = r.worker->register_callable(probe());  // func_id 1 only
  ASSERT_TRUE(id.ok());
  RunArgs args = probe_args(3);
  args.scalars["func"] = 2;
  auto report = r.worker->run(*id, args);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::not_found) << report.status().to_string();
  EXPECT_NE(report.status().message().find("func_id 2"), std::string_view::npos);
  EXPECT_EQ(r.device->stats().tag(MemoryTag::tensor).live_bytes, 0u);
  EXPECT_TRUE(r.worker->run(*id, probe_args(0)).ok());
}

// The run is held in its rendezvous kernel (orch_rendezvous, side 0) until this thread, as the
// other side, signals through the device tensor the run takes: the unregister and the checks
// below happen while the run holds its lease, whatever the timing.
TEST_P(LimitsTest, UnregisterDuringRunDefersReleaseToTheRunsEnd) {
  Rig r = rig();
  auto id = r.worker->register_callable(
      test_image("orch_rendezvous.so", {{1, CoreType::aiv, "kernel_rendezvous.so"}}));
  ASSERT_TRUE(id.ok());
  const uint64_t callable_bytes = r.device->stats().tag(MemoryTag::callable).live_bytes;
  ASSERT_GT(callable_bytes, 0u);
  auto gate = r.worker->to_device(HostTensor{CHIPRT_DTYPE_I32, {4}, Bytes(16)});  // zeros
  ASSERT_TRUE(gate.ok()) << gate.status().to_string();
  RunArgs args = probe_args(0);
  args.device_inputs["flags"] = gate->ref();
  args.scalars["work_ms"] = 0;
  Result<RunReport> report = Status(StatusCode::internal, "not run");
  std::thread runner([&] { report = r.worker->run(*id, args); });
  auto flags = [&] {
    std::vector<int32_t> f(4);
    EXPECT_TRUE(r.worker->copy_from_device(*gate, std::as_writable_bytes(std::span(f))).ok());
    return f;
  };
  // Its rendezvous kernel has signalled (flags[0]): it waits for flags[1] now (at most 20 s).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (flags()[0] != 1 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  EXPECT_EQ(flags()[0], 1) << "the run's rendezvous kernel never ran";
  EXPECT_EQ(r.worker->stats().leased_buffers, 1u);
  ASSERT_TRUE(r.worker->unregister_callable(*id).ok());
  WorkerStats during = r.worker->stats();
  EXPECT_EQ(during.distinct_buffers_live, 1u);  // the lease keeps it
  EXPECT_EQ(during.deferred_releases, 1u);
  EXPECT_EQ(during.device.tag(MemoryTag::callable).live_bytes, callable_bytes);
  const std::vector<int32_t> open{1, 1, 1, 1};
  EXPECT_TRUE(r.worker->copy_to_device(*gate, std::as_bytes(std::span(open))).ok());
  runner.join();
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  expect_plus_one(*report);
  EXPECT_EQ(floats(report->outputs.at("met")), std::vector<float>{1.0f});
  const WorkerStats after = r.worker->stats();
  EXPECT_EQ(after.distinct_buffers_live, 0u);
  EXPECT_EQ(after.device.tag(MemoryTag::callable).live_bytes, 0u);
  // The worker keeps the run's heap for later runs (the graph has an intermediate), and nothing
  // else tagged runtime: hbg's graph went with the callable.
  EXPECT_EQ(after.device.tag(MemoryTag::runtime).live_bytes, kA2a3HeapBytes);
}

TEST_P(LimitsTest, ConcurrentRunsOnOneWorker) {
  Rig r = rig();
  auto id = r.worker->register_callable(probe());
  ASSERT_TRUE(id.ok());
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        RunArgs args = probe_args(0, 256);
        args.scalars["tasks"] = 8;
        auto report = r.worker->run(*id, args);
        if (report.ok() && floats(report->outputs.at("out"))[255] == 256.0f) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 40);
  EXPECT_EQ(r.device->stats().tag(MemoryTag::tensor).live_bytes, 0u);
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Idle cores cost nothing, in the host and in the device process, where the cores' threads run
// (a thread spinning there shows up in process_cpu_seconds: DeviceFaultTest's cancelled spin
// test proves the measure sees it).
TEST_P(LimitsTest, IdleCoresConsumeNoCpu) {
  Rig r = rig();
  auto id = r.worker->register_callable(probe());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(r.worker->run(*id, probe_args(0)).ok());  // every core thread has started
  const pid_t device = static_cast<pid_t>(r.device->stats().process.pid);
  ASSERT_GT(device, 0);
  const double host_before = cpu_seconds();
  const double device_before = process_cpu_seconds(device);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // < 5% of one core over the idle second, in each process.
  EXPECT_LT(cpu_seconds() - host_before, 0.05);
  EXPECT_LT(process_cpu_seconds(device) - device_before, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, LimitsTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt::testing

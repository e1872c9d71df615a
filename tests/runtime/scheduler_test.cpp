// The shared scheduler (src/runtime/scheduler): a task freed by a completion runs at once on
// the thread that completed its predecessor, as that thread's logical core.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "runtime/scheduler/core_pool.h"
#include "runtime/scheduler/graph_run.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

constexpr uint32_t kAivCores = 2, kExecutionThreads = 2;
constexpr int kChain = 50;

// tiled_wavefront with one tile: every task updates the whole tensor in place, so task k + 1
// waits for task k alone (a chain of kChain tasks of the empty kernel).
TEST(SchedulerTest, HbgChainRunsOnTheThreadThatFreedEachTask) {
  const ChipProfile profile{"sched", 1, kAivCores, 1, 64, 64ull << 20};
  SimChipOptions options;
  options.execution_threads = kExecutionThreads;
  auto device = create_sim_chip(profile, 64ull << 20, options);
  ASSERT_NE(device, nullptr);
  WorkerOptions worker_options;
  worker_options.runtime = RuntimeKind::hbg;
  auto worker = ChipWorker::create(device, worker_options);
  ASSERT_TRUE(worker.ok()) << worker.status().to_string();
  auto id = (*worker)->register_callable(example_image("tiled_wavefront"));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  RunArgs args;
  args.tensors["t"] = host_f32({4, 4}, std::vector<float>(16, 0.0f));
  args.scalars["tiles"] = 1;
  args.scalars["sweeps"] = kChain;
  args.trace = true;
  for (int run = 0; run < 5; ++run) {  // the recording run, then replays
    auto report = (*worker)->run(*id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kChain));
    std::set<uint32_t> cores;
    for (const TaskTrace& slice : report->trace) cores.insert(slice.core_index);
    // Each completion frees exactly the next task, which the same thread runs: one core.
    EXPECT_EQ(cores.size(), 1u) << "run " << run;
  }
}

// Kernels that count how many of them run at once.
std::atomic<int> g_running{0}, g_most_running{0};

void enter_kernel() {
  const int now = g_running.fetch_add(1) + 1;
  int most = g_most_running.load();
  while (now > most && !g_most_running.compare_exchange_weak(most, now)) {
  }
}

int32_t short_kernel(const chiprt_kernel_args_t*) {
  enter_kernel();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  g_running.fetch_sub(1);
  return 0;
}

// Returns once another kernel runs beside it (or after 5 s).
int32_t meeting_kernel(const chiprt_kernel_args_t*) {
  enter_kernel();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (g_most_running.load() < 2 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  g_running.fetch_sub(1);
  return 0;
}

// Runs `tasks` independent tasks of `kernel` on `cores` and returns the most that ran at once.
int most_at_once(runtime::CorePool& cores, chiprt_kernel_entry_fn kernel, uint32_t tasks) {
  g_running = 0;
  g_most_running = 0;
  runtime::GraphRun run(cores, tasks, runtime::GraphRun::Mode::fixed, false);
  for (uint32_t i = 0; i < tasks; ++i) {
    run.set_fixed(i, runtime::TaskDesc{i, 1, CoreType::aiv, kernel, 0, nullptr, nullptr}, 0, {});
  }
  run.start_fixed();
  EXPECT_TRUE(run.wait().ok());
  return g_most_running.load();
}

// An orchestration running on an AICPU thread takes a hardware thread from the cores' pool:
// while one does, the pool runs one kernel fewer at once, and all of them again after.
TEST(SchedulerTest, ARunningOrchestrationTakesOneExecutionThread) {
  auto cores = runtime::CorePool::create(0, kAivCores, kExecutionThreads);
  ASSERT_TRUE(cores.ok()) << cores.status().to_string();
  runtime::CorePool& pool = **cores;
  ASSERT_EQ(pool.threads(), kExecutionThreads);
  pool.occupy_cpu();
  EXPECT_EQ(most_at_once(pool, short_kernel, 16), static_cast<int>(kExecutionThreads) - 1);
  pool.vacate_cpu();
  EXPECT_EQ(most_at_once(pool, meeting_kernel, 2), static_cast<int>(kExecutionThreads));
  // Never fewer than one: with more orchestrations than threads, kernels still run.
  for (uint32_t i = 0; i <= kExecutionThreads; ++i) pool.occupy_cpu();
  EXPECT_EQ(most_at_once(pool, short_kernel, 4), 1);
  for (uint32_t i = 0; i <= kExecutionThreads; ++i) pool.vacate_cpu();
  EXPECT_EQ(most_at_once(pool, meeting_kernel, 2), static_cast<int>(kExecutionThreads));
}

}  // namespace
}  // namespace chiprt::testing

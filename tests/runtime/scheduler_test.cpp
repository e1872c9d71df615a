// The shared scheduler (src/runtime/scheduler): a task freed by a completion runs at once on
// the thread that completed its predecessor, as that thread's logical core.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <thread>

#include "runtime/scheduler/core_pool.h"
#include "runtime/scheduler/graph_run.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

constexpr uint32_t kAivCores = 2, kExecutionThreads = 2;
constexpr int kChain = 50;

// A worker of `runtime` (tmr: with a ring of `ring_slots`) on a chip of one AIC and `aiv` AIV
// cores run by `threads` execution threads, with `image` registered.
class TestChip {
 public:
  TestChip(RuntimeKind runtime, uint32_t aiv, uint32_t threads, const Bytes& image,
           uint32_t ring_slots = 0) {
    SimChipOptions options;
    options.execution_threads = threads;
    device_ =
        create_sim_chip(ChipProfile{"sched", 1, aiv, 1, 64, 64ull << 20}, 64ull << 20, options);
    if (device_ == nullptr) return;
    WorkerOptions worker_options;
    worker_options.runtime = runtime;
    worker_options.ring_slots = ring_slots;
    auto worker = ChipWorker::create(device_, worker_options);
    EXPECT_TRUE(worker.ok()) << worker.status().to_string();
    if (!worker.ok()) return;
    worker_ = std::move(worker).value();
    auto id = worker_->register_callable(image);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    if (id.ok()) id_ = *id;
  }
  bool ready() const { return id_.has_value(); }
  Result<RunReport> run(const RunArgs& args) { return worker_->run(*id_, args); }
  // Waits (bounded) until the device says that `threads` of its execution threads have parked.
  bool wait_until_parked(uint32_t threads) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (device_->stats().parked_execution_threads != threads) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  }

 private:
  std::shared_ptr<Device> device_;
  std::unique_ptr<ChipWorker> worker_;
  std::optional<CallableId> id_;
};

// orch_probe: out = x + 1 in `tasks` independent tasks of 2 ms each, x = 0, 1, ... (elements).
RunArgs probe_args(int tasks, int elements) {
  RunArgs args;
  std::vector<float> x(elements);
  for (int i = 0; i < elements; ++i) x[i] = static_cast<float>(i);
  args.tensors["x"] = host_f32({elements}, x);
  args.scalars["tasks"] = tasks;
  args.scalars["sleep_ms"] = 2;
  args.trace = true;
  return args;
}

void expect_probe_output(const RunReport& report, int elements) {
  const auto out = floats(report.outputs.at("out"));
  ASSERT_EQ(out.size(), static_cast<size_t>(elements));
  for (int i = 0; i < elements; ++i) ASSERT_EQ(out[i], static_cast<float>(i) + 1.0f) << i;
}

Bytes probe_image() {
  return test_image("orch_probe.so", {{1, CoreType::aiv, "kernel_probe.so"}});
}

// tiled_wavefront with one tile: every task updates the whole tensor in place, so task k + 1
// waits for task k alone (a chain of kChain tasks of the empty kernel).
TEST(SchedulerTest, HbgChainRunsOnTheThreadThatFreedEachTask) {
  TestChip chip(RuntimeKind::hbg, kAivCores, kExecutionThreads, example_image("tiled_wavefront"));
  ASSERT_TRUE(chip.ready());
  RunArgs args;
  args.tensors["t"] = host_f32({4, 4}, std::vector<float>(16, 0.0f));
  args.scalars["tiles"] = 1;
  args.scalars["sweeps"] = kChain;
  args.trace = true;
  for (int run = 0; run < 5; ++run) {  // the recording run, then replays
    auto report = chip.run(args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kChain));
    std::set<uint32_t> cores;
    for (const TaskTrace& slice : report->trace) cores.insert(slice.core_index);
    // Each completion frees exactly the next task, which the same thread runs: one core.
    EXPECT_EQ(cores.size(), 1u) << "run " << run;
  }
}

// The device's channel thread is running when it launches a replay, while the cores' threads
// must first wake: it runs the graph's first ready tasks itself, as the logical core after the
// pool's (here core 1 of 4; the pool has one thread, core 0), for a bounded time. With 32
// independent tasks of 2 ms each, it runs exactly one (its 200 us budget is checked between
// tasks) and the pool the other 31.
TEST(SchedulerTest, TheChannelThreadStartsAReplayForABoundedTime) {
  constexpr int kTasks = 32, kElements = 64;
  TestChip chip(RuntimeKind::hbg, 4, 1, probe_image());
  ASSERT_TRUE(chip.ready());
  const RunArgs args = probe_args(kTasks, kElements);
  for (int run = 0; run < 3; ++run) {  // the recording run, then replays
    auto report = chip.run(args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kTasks));
    std::map<uint32_t, int> per_core;
    for (const TaskTrace& slice : report->trace) ++per_core[slice.core_index];
    EXPECT_EQ(per_core, (std::map<uint32_t, int>{{0, kTasks - 1}, {1, 1}})) << "run " << run;
    expect_probe_output(*report, kElements);
  }
}

// A tmr orchestration that finds the ring full runs queued tasks itself instead of parking until
// the cores free a slot, as the logical core after the pool's (core 1 of 4; the pool has one
// thread, core 0). Task 0 sleeps 200 ms and the other 39 sleep 2 ms, on a ring of 16 slots:
// whichever of the two threads runs task 0, the other runs tasks meanwhile. The pool's thread
// takes at most 8 ready tasks at once, so at least 8 run while task 0 does. Parking instead,
// the orchestration would leave every task to the pool's thread, after task 0.
TEST(SchedulerTest, AnOrchestrationWaitingForARingSlotRunsReadyTasks) {
  constexpr int kTasks = 40, kElements = 80, kRingSlots = 16;
  TestChip chip(RuntimeKind::tmr, 4, 1, probe_image(), kRingSlots);
  ASSERT_TRUE(chip.ready());
  RunArgs args = probe_args(kTasks, kElements);
  args.scalars["first_sleep_ms"] = 200;
  for (int run = 0; run < 2; ++run) {
    auto report = chip.run(args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kTasks));
    const TaskTrace* first = nullptr;
    for (const TaskTrace& slice : report->trace) {
      EXPECT_LE(slice.core_index, 1u) << "task " << slice.task_id;
      if (slice.task_id == 0) first = &slice;
    }
    ASSERT_NE(first, nullptr);
    int during_first = 0;
    for (const TaskTrace& slice : report->trace) {
      if (slice.task_id == 0 || slice.start_us >= first->end_us) continue;
      ++during_first;
      EXPECT_NE(slice.core_index, first->core_index) << "task " << slice.task_id;
    }
    EXPECT_GE(during_first, kRingSlots - 8) << "run " << run;
    expect_probe_output(*report, kElements);
  }
}

// A tmr orchestration whose last run was short (under the device's 1 ms budget) runs its tasks
// on its own thread (core 1, after the pool's one thread, core 0), waking the pool's thread for
// none of them. The runs are apart, so the pool's thread has parked in between (woken, it takes
// the tasks as they come, and then all 8 run on core 0). The first run has no history, and a
// run that a loaded machine delays past the budget makes the next one start the pool: most of
// the later runs, not all, must be on core 1 alone.
TEST(SchedulerTest, AShortOrchestrationRunsItsTasksOnItsOwnThread) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "under ThreadSanitizer these runs take longer than the device's 1 ms budget";
#endif
  constexpr int kTasks = 8, kElements = 64, kRuns = 8;
  TestChip chip(RuntimeKind::tmr, 4, 1, probe_image());
  ASSERT_TRUE(chip.ready());
  RunArgs args = probe_args(kTasks, kElements);
  args.scalars["sleep_ms"] = 0;
  int alone = 0;
  for (int run = 0; run < kRuns; ++run) {
    ASSERT_TRUE(chip.wait_until_parked(1)) << "the pool's thread never parked";
    auto report = chip.run(args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kTasks));
    expect_probe_output(*report, kElements);
    std::map<uint32_t, int> per_core;
    for (const TaskTrace& slice : report->trace) ++per_core[slice.core_index];
    if (run > 0 && per_core == std::map<uint32_t, int>{{1, kTasks}}) ++alone;
  }
  EXPECT_GE(alone, (kRuns - 1) / 2 + 1) << "runs on the orchestration's thread alone";
}

// A fixed graph of kFixedTasks independent tasks of 1 ms each, run on a pool of one thread
// (core 0 of 4) whose thread has parked, started by the calling thread, which then helps (as
// core 1) for `budget`, alone or not. Returns the core each task ran on.
constexpr uint32_t kFixedTasks = 20;
std::atomic<uint32_t> fixed_task_core[kFixedTasks];

int32_t record_core_kernel(const chiprt_kernel_args_t* args) {
  fixed_task_core[args->task_id].store(args->core_index);
  std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return 0;
}

std::map<uint32_t, int> run_fixed_graph(std::chrono::microseconds budget, bool alone) {
  auto pool = runtime::CorePool::create(1, 4, 1);
  EXPECT_TRUE(pool.ok());
  if (!pool.ok()) return {};
  // Its thread parks once it found no work (on a loaded machine it may take a while to start).
  for (int wait = 0; wait < 10000 && (*pool)->parked() == 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ((*pool)->parked(), 1u);
  runtime::GraphRun run(**pool, kFixedTasks, runtime::GraphRun::Mode::fixed, false);
  for (uint32_t t = 0; t < kFixedTasks; ++t) {
    runtime::TaskDesc desc;
    desc.task_id = t;
    desc.func_id = 1;
    desc.core = CoreType::aiv;
    desc.entry = record_core_kernel;
    run.set_fixed(t, desc, 0, {});
  }
  run.start_fixed(!alone);
  (*pool)->help(budget, alone);
  EXPECT_TRUE(run.wait().ok());
  std::map<uint32_t, int> per_core;
  for (const auto& core : fixed_task_core) ++per_core[core.load()];
  return per_core;
}

int32_t healthy_kernel(const chiprt_kernel_args_t*) {
  return 0;
}

// A fixed graph's stall view: before it starts every task is not started (the root ready, the
// others waiting on exactly their predecessors, oldest first); once it ran, nothing; re-armed
// for its next replay, everything is not started again (a node's state from the run before
// does not count as finished in this one).
TEST(SchedulerTest, AStallViewNamesNotStartedTasksAndTheirUnmetPredecessors) {
  using State = StallReport::Task::State;
  auto pool = runtime::CorePool::create(1, 4, 1);
  ASSERT_TRUE(pool.ok());
  // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3; tasks 10..13 as nodes 0..3, func_id 20 + node.
  const std::vector<uint32_t> successors[4] = {{1, 2}, {3}, {3}, {}};
  const uint32_t deps[4] = {0, 1, 1, 2};
  runtime::GraphRun run(**pool, 4, runtime::GraphRun::Mode::fixed, false);
  for (uint32_t n = 0; n < 4; ++n) {
    runtime::TaskDesc desc;
    desc.task_id = 10 + n;
    desc.func_id = 20 + n;
    desc.core = n == 3 ? CoreType::aic : CoreType::aiv;
    desc.entry = healthy_kernel;
    run.set_fixed(n, desc, deps[n], successors[n]);
  }
  auto expect_not_started = [&] {
    runtime::GraphRun::StallView view;
    run.describe_stall(view);
    EXPECT_EQ(view.not_started, 4u);
    ASSERT_EQ(view.count, 4u);
    for (uint32_t n = 0; n < 4; ++n) {
      EXPECT_EQ(view.waiting[n].task.task_id, 10u + n);
      EXPECT_EQ(view.waiting[n].task.func_id, 20u + n);
      EXPECT_EQ(view.waiting[n].unmet, deps[n]);
      EXPECT_EQ(view.waiting[n].listed, deps[n]);
    }
    EXPECT_EQ(view.waiting[0].task.state, State::ready);
    EXPECT_EQ(view.waiting[1].task.state, State::waiting);
    EXPECT_EQ(view.waiting[3].task.core_type, static_cast<uint32_t>(CHIPRT_CORE_AIC));
    EXPECT_EQ(view.waiting[1].predecessors[0].task_id, 10u);
    EXPECT_EQ(view.waiting[1].predecessors[0].state, State::ready);
    EXPECT_EQ(view.waiting[2].predecessors[0].task_id, 10u);
    EXPECT_EQ(view.waiting[3].predecessors[0].task_id, 11u);
    EXPECT_EQ(view.waiting[3].predecessors[0].state, State::waiting);
    EXPECT_EQ(view.waiting[3].predecessors[1].task_id, 12u);
  };
  expect_not_started();
  run.start_fixed();
  ASSERT_TRUE(run.wait().ok());
  runtime::GraphRun::StallView done;
  run.describe_stall(done);
  EXPECT_EQ(done.not_started, 0u);
  EXPECT_EQ(done.count, 0u);
  run.rearm_fixed(false);
  expect_not_started();
}

// A thread that helps alone runs the graph itself while the pool's parked thread sleeps on;
// once its budget is spent, the pool's thread is woken for the rest. Not alone, the pool's
// thread takes part from the start.
TEST(SchedulerTest, AThreadHelpingAloneWakesThePoolOnlyForWhatIsLeft) {
  EXPECT_EQ(run_fixed_graph(std::chrono::seconds(10), true),
            (std::map<uint32_t, int>{{1, static_cast<int>(kFixedTasks)}}));
  // Budget spent after the first task: the pool's thread runs the other 19.
  EXPECT_EQ(run_fixed_graph(std::chrono::microseconds(0), true),
            (std::map<uint32_t, int>{{0, static_cast<int>(kFixedTasks) - 1}, {1, 1}}));
  const std::map<uint32_t, int> shared = run_fixed_graph(std::chrono::seconds(10), false);
  EXPECT_GT(shared.count(0) ? shared.at(0) : 0, 0) << "the pool's thread was woken";
}

}  // namespace
}  // namespace chiprt::testing

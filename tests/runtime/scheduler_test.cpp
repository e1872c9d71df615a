// The shared scheduler (src/runtime/scheduler): a task freed by a completion runs at once on
// the thread that completed its predecessor, as that thread's logical core.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>

#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

constexpr uint32_t kAivCores = 2, kExecutionThreads = 2;
constexpr int kChain = 50;

// An hbg worker on a chip of one AIC and `aiv` AIV cores run by `threads` execution threads,
// with `image` registered.
class HbgChip {
 public:
  HbgChip(uint32_t aiv, uint32_t threads, const Bytes& image) {
    SimChipOptions options;
    options.execution_threads = threads;
    device_ =
        create_sim_chip(ChipProfile{"sched", 1, aiv, 1, 64, 64ull << 20}, 64ull << 20, options);
    if (device_ == nullptr) return;
    WorkerOptions worker_options;
    worker_options.runtime = RuntimeKind::hbg;
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

 private:
  std::shared_ptr<Device> device_;
  std::unique_ptr<ChipWorker> worker_;
  std::optional<CallableId> id_;
};

// tiled_wavefront with one tile: every task updates the whole tensor in place, so task k + 1
// waits for task k alone (a chain of kChain tasks of the empty kernel).
TEST(SchedulerTest, HbgChainRunsOnTheThreadThatFreedEachTask) {
  HbgChip chip(kAivCores, kExecutionThreads, example_image("tiled_wavefront"));
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
  HbgChip chip(4, 1, test_image("orch_probe.so", {{1, CoreType::aiv, "kernel_probe.so"}}));
  ASSERT_TRUE(chip.ready());
  RunArgs args;
  std::vector<float> x(kElements);
  for (int i = 0; i < kElements; ++i) x[i] = static_cast<float>(i);
  args.tensors["x"] = host_f32({kElements}, x);
  args.scalars["tasks"] = kTasks;
  args.scalars["sleep_ms"] = 2;
  args.trace = true;
  for (int run = 0; run < 3; ++run) {  // the recording run, then replays
    auto report = chip.run(args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    ASSERT_EQ(report->trace.size(), static_cast<size_t>(kTasks));
    std::map<uint32_t, int> per_core;
    for (const TaskTrace& slice : report->trace) ++per_core[slice.core_index];
    EXPECT_EQ(per_core, (std::map<uint32_t, int>{{0, kTasks - 1}, {1, 1}})) << "run " << run;
    const auto out = floats(report->outputs.at("out"));
    for (int i = 0; i < kElements; ++i) ASSERT_EQ(out[i], x[i] + 1.0f) << "element " << i;
  }
}

}  // namespace
}  // namespace chiprt::testing

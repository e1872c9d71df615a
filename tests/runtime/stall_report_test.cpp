// Stall reports: a run that misses its stall deadline says what it waited for. A deadlocked
// callable (orch_stall.c: task 0, func 1, spins for ever; task 1, func 2, waits on it) fails
// with deadline_exceeded naming both tasks and what the orchestration was doing, and the
// caller's StallReport holds exactly those tasks; the device is lost and reset() brings it
// back. The host reads the stall section of the status page as untrusted input.
#include <cstring>
#include <string>

#include "device/stall_page.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

namespace protocol = device::protocol;
using State = StallReport::Task::State;
constexpr auto kStall = std::chrono::milliseconds(300);
constexpr int64_t kElements = 64;

WorkerOptions stall_options(uint32_t ring_slots = 0) {
  WorkerOptions options;
  options.stall_timeout = kStall;
  options.run_timeout = std::chrono::seconds(60);
  options.ring_slots = ring_slots;
  return options;
}

Bytes stall_image() {
  return test_image("orch_stall.so",
                    {{1, CoreType::aiv, "kernel_fault.so"}, {2, CoreType::aiv, "kernel_fault.so"}},
                    "stall");
}

RunArgs stall_args(double tasks, StallReport* report) {
  RunArgs args;
  args.tensors["x"] = host_f32({kElements}, std::vector<float>(kElements, 1.0f));
  args.scalars["tasks"] = tasks;
  args.stall_report = report;
  return args;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class StallReportTest : public ::testing::TestWithParam<RuntimeKind> {};

TEST_P(StallReportTest, NamesTheWaitingTaskItsRunningPredecessorAndTheOrchestration) {
  const RuntimeKind runtime = GetParam();
  Rig rig = make_rig("a2a3", runtime, stall_options());
  const Bytes image = stall_image();
  CallableId id = *rig.worker->register_callable(image);
  StallReport report;
  auto failed = rig.worker->run(id, stall_args(2, &report));
  ASSERT_FALSE(failed.ok());
  const std::string message(failed.status().message());
  EXPECT_EQ(failed.status().code(), StatusCode::deadline_exceeded) << message;
  EXPECT_TRUE(contains(message, "made no progress for its stall deadline of 0.3 s")) << message;
  EXPECT_TRUE(contains(message, "task 1 (func 2) waits on task 0 (func 1), running on aiv core "))
      << message;
  const char* orchestration = runtime == RuntimeKind::tmr ? "finished submitting" : "replaying";
  EXPECT_TRUE(contains(message, std::string("orchestration: ") + orchestration)) << message;

  // The same as data: exactly one waiting task with exactly one unmet predecessor.
  EXPECT_EQ(report.orchestration, runtime == RuntimeKind::tmr
                                      ? StallReport::Orchestration::finished_submitting
                                      : StallReport::Orchestration::replaying);
  EXPECT_TRUE(report.snapshot) << "the device's stall reporter answered";
  EXPECT_DOUBLE_EQ(report.stalled_for_s, 0.3);
  EXPECT_EQ(report.not_started, 1u);
  ASSERT_EQ(report.waiting.size(), 1u);
  const StallReport::Waiting& w = report.waiting[0];
  EXPECT_EQ(w.task.task_id, 1u);
  EXPECT_EQ(w.task.func_id, 2u);
  EXPECT_EQ(w.task.core_type, static_cast<uint32_t>(CHIPRT_CORE_AIV));
  EXPECT_EQ(w.task.state, State::waiting);
  EXPECT_EQ(w.unmet, 1u);
  ASSERT_EQ(w.waits_on.size(), 1u);
  const StallReport::Task& p = w.waits_on[0];
  EXPECT_EQ(p.task_id, 0u);
  EXPECT_EQ(p.func_id, 1u);
  EXPECT_EQ(p.state, State::running);
  EXPECT_EQ(p.core_type, static_cast<uint32_t>(CHIPRT_CORE_AIV));
  EXPECT_TRUE(p.core_known);
  EXPECT_LT(p.core_index, 48u) << "an a2a3 chip has 48 AIV cores";
  EXPECT_TRUE(contains(message, "running on aiv core " + std::to_string(p.core_index))) << message;
  ASSERT_EQ(report.running.size(), 1u);
  EXPECT_EQ(report.running[0].task_id, 0u);
  EXPECT_EQ(report.running[0].func_id, 1u);
  EXPECT_EQ(report.running[0].core_index, p.core_index);

  // The device is lost as for any missed deadline; reset() brings it back.
  EXPECT_FALSE(rig.device->health().ok());
  ASSERT_TRUE(rig.worker->reset().ok());
  id = *rig.worker->register_callable(image);
  StallReport again;
  auto second = rig.worker->run(id, stall_args(2, &again));
  EXPECT_EQ(second.status().code(), StatusCode::deadline_exceeded);
  EXPECT_EQ(again.waiting.size(), 1u);
}

TEST_P(StallReportTest, NamesTheKernelsOfANamedImage) {
  Rig rig = make_rig("a2a3", GetParam(), stall_options());
  const Bytes image = test_image("orch_stall.so",
                                 {{1, CoreType::aiv, "kernel_fault.so", "spinner"},
                                  {2, CoreType::aiv, "kernel_fault.so", "waiter"}},
                                 "stall");
  CallableId id = *rig.worker->register_callable(image);
  StallReport report;
  auto failed = rig.worker->run(id, stall_args(2, &report));
  const std::string message(failed.status().message());
  EXPECT_EQ(failed.status().code(), StatusCode::deadline_exceeded) << message;
  EXPECT_TRUE(
      contains(message, "task 1 (func 2 'waiter') waits on task 0 (func 1 'spinner'), running on"))
      << message;
}

INSTANTIATE_TEST_SUITE_P(BothRuntimes, StallReportTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const ::testing::TestParamInfo<RuntimeKind>& info) {
                           return std::string(runtime_name(info.param));
                         });

// tmr, a ring of 2 slots and 3 tasks: task 2 needs task 0's slot, so the orchestration waits
// for the ring while task 1 waits on task 0 (and task 2 would wait on task 1).
TEST(StallReportTmrTest, AnOrchestrationWaitingForARingSlotSaysRingFull) {
  Rig rig = make_rig("a2a3", RuntimeKind::tmr, stall_options(2));
  const CallableId id = *rig.worker->register_callable(stall_image());
  StallReport report;
  auto failed = rig.worker->run(id, stall_args(3, &report));
  ASSERT_EQ(failed.status().code(), StatusCode::deadline_exceeded);
  const std::string message(failed.status().message());
  EXPECT_TRUE(contains(message, "orchestration: ring full")) << message;
  EXPECT_EQ(report.orchestration, StallReport::Orchestration::ring_full);
  ASSERT_EQ(report.waiting.size(), 1u) << "task 2 was never submitted";
  EXPECT_EQ(report.waiting[0].task.task_id, 1u);
  ASSERT_EQ(report.waiting[0].waits_on.size(), 1u);
  EXPECT_EQ(report.waiting[0].waits_on[0].task_id, 0u);
}

// A run that fails otherwise leaves the caller's report untouched.
TEST(StallReportTmrTest, AHealthyRunLeavesTheReportEmpty) {
  Rig rig = make_rig("a2a3", RuntimeKind::tmr, stall_options());
  const Bytes image = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "orch");
  const CallableId id = *rig.worker->register_callable(image);
  StallReport report;
  RunArgs args;
  args.tensors["x"] = host_f32({kElements}, std::vector<float>(kElements, 1.0f));
  args.stall_report = &report;
  ASSERT_TRUE(rig.worker->run(id, args).ok());
  EXPECT_EQ(report.run, 0u);
  EXPECT_TRUE(report.waiting.empty());
}

// ---- The page parser -------------------------------------------------------------------------

protocol::StallTaskRecord task_record(uint64_t task, uint32_t func, State state) {
  return {task, func, CHIPRT_CORE_AIV, static_cast<uint32_t>(state), 0};
}

TEST(StallPageTest, ReadsAWellFormedSnapshot) {
  protocol::StallSnapshot s{};
  s.run = 7;
  s.found = 1;
  s.count = 1;
  s.not_started = 5;
  s.waiting[0].task = task_record(3, 2, State::waiting);
  s.waiting[0].unmet = 6;
  s.waiting[0].listed = 1;
  s.waiting[0].predecessors[0] = task_record(1, 1, State::running);
  const StallReport::Task kernel{1, 1, CHIPRT_CORE_AIV, State::running, true, 9};
  const StallReport r = device::read_stall_snapshot(
      &s, 7, static_cast<uint32_t>(StallReport::Orchestration::in_sync), {&kernel, 1});
  EXPECT_TRUE(r.snapshot);
  EXPECT_EQ(r.orchestration, StallReport::Orchestration::in_sync);
  EXPECT_EQ(r.not_started, 5u);
  ASSERT_EQ(r.waiting.size(), 1u);
  EXPECT_EQ(r.waiting[0].unmet, 6u);
  ASSERT_EQ(r.waiting[0].waits_on.size(), 1u);
  EXPECT_TRUE(r.waiting[0].waits_on[0].core_known);
  EXPECT_EQ(r.waiting[0].waits_on[0].core_index, 9u);
  EXPECT_EQ(describe_stall(r),
            "task 3 (func 2) waits on task 1 (func 1), running on aiv core 9 and 5 more; 5 tasks "
            "not started in all; orchestration: in sync");
  const KernelNames names{{2, "add"}};
  EXPECT_EQ(task_label(3, 2, &names), "task 3 (func 2 'add')");
  EXPECT_EQ(task_label(3, 1, &names), "task 3 (func 1)");
}

TEST(StallPageTest, SurvivesGarbageInTheStallSection) {
  // Every byte 0xff: counts far past the arrays, states and core types outside the protocol.
  protocol::StallSnapshot s;
  std::memset(&s, 0xff, sizeof(s));
  s.run = 7;
  s.found = 1;
  StallReport r = device::read_stall_snapshot(&s, 7, ~0u, {});
  EXPECT_TRUE(r.snapshot);
  EXPECT_EQ(r.orchestration, StallReport::Orchestration::unknown);
  EXPECT_TRUE(r.waiting.empty()) << "tasks with unknown states are dropped";
  EXPECT_FALSE(describe_stall(r).empty());

  // Known states but counts past the arrays: clamped to them.
  for (uint32_t i = 0; i < protocol::kStallTasks; ++i) {
    s.waiting[i].task = task_record(10 + i, 2, State::waiting);
    for (uint32_t k = 0; k < protocol::kStallPredecessors; ++k) {
      s.waiting[i].predecessors[k] = task_record(k, 1, State::waiting);
    }
  }
  s.count = 1000;
  s.waiting[0].listed = 1u << 31;
  s.waiting[0].unmet = 0;
  s.not_started = 2;
  r = device::read_stall_snapshot(&s, 7, 3, {});
  ASSERT_EQ(r.waiting.size(), protocol::kStallTasks);
  EXPECT_EQ(r.waiting[0].waits_on.size(), protocol::kStallPredecessors);
  EXPECT_EQ(r.waiting[0].unmet, protocol::kStallPredecessors) << "at least those it names";
  EXPECT_EQ(r.not_started, protocol::kStallTasks) << "at least those it names";
  EXPECT_EQ(r.orchestration, StallReport::Orchestration::heap_full);

  // A snapshot of another run, or of a run the device did not find, is no snapshot.
  s.run = 8;
  EXPECT_FALSE(device::read_stall_snapshot(&s, 7, 0, {}).snapshot);
  s.run = 7;
  s.found = 0;
  EXPECT_FALSE(device::read_stall_snapshot(&s, 7, 0, {}).snapshot);
  // No answer: the running kernels from the thread records are what it names.
  const StallReport::Task kernel{4, 1, CHIPRT_CORE_AIC, State::running, true, 2};
  r = device::read_stall_snapshot(nullptr, 7, 5, {&kernel, 1});
  EXPECT_FALSE(r.snapshot);
  EXPECT_EQ(describe_stall(r),
            "the device gave no snapshot of its tasks within 200 ms; running: task 4 (func 1) on "
            "aic core 2; orchestration: finished submitting");
}

}  // namespace
}  // namespace chiprt::testing

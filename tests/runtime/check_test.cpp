// Checks (I14): a checked run names what the chip would get wrong silently (each bug class of
// orch_check.c, on both runtimes, naming the check, the culprit's func_id and the tensor), and
// passes clean programs with exactly their unchecked outputs (the examples, the random DAGs).
// Expected offsets come from the callables' own shapes, written out here.
#include <algorithm>
#include <cstring>

#include "random_dag.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

constexpr int64_t kN = 64;

Bytes check_image() {
  return test_image("orch_check.so",
                    {{1, CoreType::aiv, "kernel_check.so"},
                     {2, CoreType::aiv, "kernel_check.so"},
                     {3, CoreType::aiv, "kernel_check.so"},
                     {4, CoreType::aiv, "kernel_check.so"},
                     {5, CoreType::aiv, "kernel_check.so"},
                     {6, CoreType::aiv, "kernel_check.so"},
                     {7, CoreType::aiv, "kernel_check.so"}},
                    "checks");
}

RunArgs bug_args(int bug) {
  RunArgs args;
  std::vector<float> x(kN);
  for (int64_t i = 0; i < kN; ++i) x[i] = static_cast<float>(i) + 0.5f;
  args.tensors["x"] = host_f32({kN}, x);
  args.scalars["bug"] = bug;
  return args;
}

Checks all_checks() {
  Checks c;
  c.enabled = Checks::kAll;
  return c;
}

// Runs `args` unchecked and then under every check: the checked run must pass, make the same
// outputs (at least one) bitwise equal, and have made every schedule.
void expect_clean(ChipWorker& worker, CallableId id, RunArgs args) {
  auto plain = worker.run(id, args);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  args.checks = all_checks();
  auto checked = worker.run(id, args);
  ASSERT_TRUE(checked.ok()) << checked.status().to_string();
  ASSERT_FALSE(plain->outputs.empty());
  ASSERT_EQ(plain->outputs.size(), checked->outputs.size());
  for (const auto& [name, tensor] : plain->outputs) {
    ASSERT_TRUE(checked->outputs.contains(name)) << name;
    EXPECT_EQ(tensor.data, checked->outputs.at(name).data) << name;
  }
  ASSERT_TRUE(checked->checks.has_value());
  EXPECT_TRUE(checked->checks->findings.empty());
  // memcheck's schedule, initcheck's second poison, 7 more racecheck schedules.
  EXPECT_EQ(checked->checks->schedules, 1u + 1u + (Checks::kDefaultSeeds - 1));
}

class CheckTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  void SetUp() override {
    rig_ = make_rig("a2a3", GetParam());
    auto id = rig_.worker->register_callable(check_image());
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    id_ = *id;
  }
  // Runs bug class `bug` under every check: it must fail with check_failed, and its report must
  // hold a finding of `check` on `tensor` (from `func_id` when given, 0 = no task).
  CheckFinding expect_finding(int bug, const std::string& check, const std::string& tensor,
                              uint32_t func_id) {
    RunArgs args = bug_args(bug);
    args.checks = all_checks();
    CheckReport report;
    args.check_report = &report;
    auto run = rig_.worker->run(id_, args);
    EXPECT_FALSE(run.ok()) << "bug " << bug << " passed its checks";
    if (run.ok()) return {};
    EXPECT_EQ(run.status().code(), StatusCode::check_failed) << run.status().to_string();
    const std::string message(run.status().message());
    auto it = std::find_if(report.findings.begin(), report.findings.end(), [&](auto& f) {
      return f.check == check && f.tensor == tensor && (func_id == 0 || f.func_id == func_id);
    });
    std::string all;
    for (const CheckFinding& f : report.findings) all += f.message + "\n";
    EXPECT_NE(it, report.findings.end()) << "no " << check << " finding on " << tensor << ":\n"
                                         << all;
    // The status line is the first finding.
    EXPECT_FALSE(report.findings.empty());
    if (!report.findings.empty()) {
      EXPECT_NE(message.find(report.findings.front().message), std::string::npos) << message;
    }
    // The health of the worker after a failed check: the clean program runs exactly.
    auto clean = rig_.worker->run(id_, bug_args(0));
    EXPECT_TRUE(clean.ok()) << clean.status().to_string();
    return it == report.findings.end() ? CheckFinding{} : *it;
  }

  Rig rig_;
  CallableId id_{};
};

TEST_P(CheckTest, AWriteFarPastItsOutputIsAMemcheckFindingNamingTheKernelAndOutput) {
  // First on this device: memcheck sees what changed, and an unchecked run before it would have
  // left the same values where the overrun lands (a write of the value already there is not
  // seen).
  const CheckFinding f = expect_finding(1, "memcheck", "y0", 2);
  EXPECT_TRUE(f.has_task);
  EXPECT_EQ(f.task_id, 0u);
  EXPECT_EQ(f.unit, "bytes");
  EXPECT_EQ(f.begin, 0u);
  EXPECT_EQ(f.end, 192u * sizeof(float));  // 192 floats past the end of y0
  EXPECT_NE(f.message.find("past the end of output 'y0'"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("func_id 2"), std::string::npos) << f.message;
  // Unchecked, the overrun lands silently.
  EXPECT_TRUE(rig_.worker->run(id_, bug_args(1)).ok());
}

// Guard pages: a read or a write far from every tensor the task names (1 MiB past its input or
// output, beyond the snapshot's margins) is a memcheck finding naming the access and the tensor.
TEST_P(CheckTest, AFarReadIsAMemcheckFindingFromAGuardPage) {
  const CheckFinding f = expect_finding(6, "memcheck", "x", 6);
  EXPECT_EQ(f.unit, "bytes");
  EXPECT_EQ(f.begin, (1u << 20) - kN * sizeof(float));  // 1 MiB from x's start, past its end
  EXPECT_NE(f.message.find("read device memory"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("past the end of argument 'x'"), std::string::npos) << f.message;
  EXPECT_TRUE(rig_.worker->run(id_, bug_args(6)).ok());  // unchecked, it reads silently
}

TEST_P(CheckTest, AFarWriteIsAMemcheckFindingFromAGuardPage) {
  const CheckFinding f = expect_finding(7, "memcheck", "y0", 7);
  EXPECT_EQ(f.begin, (1u << 20) - kN * sizeof(float));
  EXPECT_NE(f.message.find("wrote device memory"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("past the end of output 'y0'"), std::string::npos) << f.message;
}

TEST_P(CheckTest, AWriteOutsideTheDeclaredViewIsAMemcheckFindingNamingTheElements) {
  ASSERT_TRUE(rig_.worker->run(id_, bug_args(2)).ok());
  const CheckFinding f = expect_finding(2, "memcheck", "y", 3);
  EXPECT_EQ(f.task_id, 0u);
  EXPECT_EQ(f.unit, "elements");
  EXPECT_EQ(f.begin, 64u);  // it declared y[0:64] and wrote y[0:128]
  EXPECT_EQ(f.end, 128u);
  EXPECT_NE(f.message.find("outside the views it declared writable"), std::string::npos);
}

TEST_P(CheckTest, TwoUnorderedTasksWhoseWritesOverlapAreARacecheckFindingNamingBoth) {
  // Task 0 (func 3) declared y[0:64] and wrote y[0:128]; task 1 (func 5) filled y[64:128]: no
  // dependency orders them, whatever order a schedule took.
  RunArgs args = bug_args(2);
  Checks racecheck;
  racecheck.enabled = Checks::kRacecheck;
  racecheck.seed = 1;  // one schedule: the overlap needs no second one
  args.checks = racecheck;
  CheckReport report;
  args.check_report = &report;
  ASSERT_FALSE(rig_.worker->run(id_, args).ok());
  ASSERT_EQ(report.findings.size(), 1u);
  const CheckFinding& f = report.findings[0];
  EXPECT_EQ(f.check, "racecheck");
  EXPECT_EQ(f.tensor, "y");
  EXPECT_EQ(f.begin, 64u);
  EXPECT_EQ(f.end, 128u);
  EXPECT_NE(f.message.find("(func_id 3,"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("(func_id 5,"), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("no dependency orders them"), std::string::npos) << f.message;
}

TEST_P(CheckTest, AReadBeyondTheDeclaredInputRacesItsProducerAndIsARacecheckFinding) {
  ASSERT_TRUE(rig_.worker->run(id_, bug_args(3)).ok());
  // Named by the task that wrote the differing element: the reader beyond its input (func 4).
  const CheckFinding f = expect_finding(3, "racecheck", "y", 4);
  EXPECT_TRUE(f.has_task);
  EXPECT_EQ(f.task_id, 2u);
  EXPECT_EQ(f.begin, 0u);
  EXPECT_NE(f.message.find("seed"), std::string::npos) << f.message;
}

TEST_P(CheckTest, AnOutputHalfWrittenIsAnInitcheckFindingNamingTheUnwrittenElements) {
  auto unchecked = rig_.worker->run(id_, bug_args(4));
  ASSERT_TRUE(unchecked.ok());
  const CheckFinding f = expect_finding(4, "initcheck", "y", 0);
  EXPECT_FALSE(f.has_task);
  EXPECT_EQ(f.begin, 64u);
  EXPECT_EQ(f.end, 128u);
  EXPECT_NE(f.message.find("never written"), std::string::npos) << f.message;
}

TEST_P(CheckTest, AReadOfAnIntermediateNoTaskWroteIsAnInitcheckFinding) {
  ASSERT_TRUE(rig_.worker->run(id_, bug_args(5)).ok());
  // Named by the task that read the unwritten intermediate and wrote y from it (func 1).
  const CheckFinding f = expect_finding(5, "initcheck", "y", 1);
  EXPECT_TRUE(f.has_task);
  EXPECT_EQ(f.task_id, 0u);
  EXPECT_EQ(f.begin, 0u);
  EXPECT_EQ(f.end, 64u);
  EXPECT_NE(f.message.find("depend on device memory no task wrote"), std::string::npos);
}

TEST_P(CheckTest, ACleanProgramPassesEveryCheckWithItsUncheckedOutputs) {
  auto plain = rig_.worker->run(id_, bug_args(0));
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  RunArgs args = bug_args(0);
  args.checks = all_checks();
  auto checked = rig_.worker->run(id_, args);
  ASSERT_TRUE(checked.ok()) << checked.status().to_string();
  ASSERT_TRUE(checked->checks.has_value());
  EXPECT_TRUE(checked->checks->findings.empty());
  // memcheck's schedule, initcheck's second poison, 7 more racecheck schedules.
  EXPECT_EQ(checked->checks->schedules, 1u + 1u + (Checks::kDefaultSeeds - 1));
  for (const char* name : {"y0", "y1"}) {
    const HostTensor& a = plain->outputs.at(name);
    const HostTensor& b = checked->outputs.at(name);
    ASSERT_EQ(a.data.size(), kN * sizeof(float));
    EXPECT_EQ(a.data, b.data) << name;
    const auto v = floats(b);
    for (int64_t i = 0; i < kN; ++i) ASSERT_EQ(v[i], 2.0f * (static_cast<float>(i) + 0.5f));
  }
  // No check without asking: the same run unchecked reports none.
  EXPECT_FALSE(plain->checks.has_value());
}

TEST_P(CheckTest, TheWorkersChecksApplyToEveryRunAndARunMayTurnThemOff) {
  WorkerOptions options;
  options.checks = all_checks();
  Rig rig = make_rig("a2a3", GetParam(), options);
  auto id = rig.worker->register_callable(check_image());
  ASSERT_TRUE(id.ok());
  auto run = rig.worker->run(*id, bug_args(1));
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::check_failed);
  RunArgs off = bug_args(1);
  off.checks = Checks{};
  EXPECT_TRUE(rig.worker->run(*id, off).ok());
}

TEST_P(CheckTest, OneSeedReplaysOneScheduleAndOnlyTheChecksAsked) {
  RunArgs args = bug_args(2);
  Checks memcheck;
  memcheck.enabled = Checks::kMemcheck;
  memcheck.seed = 5;
  args.checks = memcheck;
  CheckReport report;
  args.check_report = &report;
  auto run = rig_.worker->run(id_, args);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(report.schedules, 1u);
  ASSERT_FALSE(report.findings.empty());
  for (const CheckFinding& f : report.findings) EXPECT_EQ(f.check, "memcheck") << f.message;
}

// The random DAGs (strided views, inout tensors, chains and fans) pass every check with their
// unchecked outputs.
TEST_P(CheckTest, RandomDagsPassEveryCheckWithTheirUncheckedOutputs) {
  const Bytes image = test_image("orch_random_dag.so", {{1, CoreType::aic, "kernel_dag_op.so"},
                                                        {2, CoreType::aiv, "kernel_dag_op.so"}});
  auto id = rig_.worker->register_callable(image);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  std::vector<float> x0(DAG_SIDE * DAG_SIDE), y0(DAG_SIDE * DAG_SIDE);
  for (size_t i = 0; i < x0.size(); ++i) {
    x0[i] = static_cast<float>(i % 13) * 0.25f;
    y0[i] = static_cast<float>(i % 7) * 0.5f;
  }
  for (double seed : {1.0, 42.0}) {
    RunArgs args;
    args.tensors["x0"] = host_f32({DAG_SIDE, DAG_SIDE}, x0);
    args.tensors["y0"] = host_f32({DAG_SIDE, DAG_SIDE}, y0);
    args.scalars["seed"] = seed;
    SCOPED_TRACE(seed);
    expect_clean(*rig_.worker, *id, args);
  }
}

// The test suite's other callables (chains of inout updates, scoped intermediates reused
// across iterations, many live intermediates, tiled outputs) pass every check with their
// unchecked outputs.
TEST_P(CheckTest, TheSuitesCallablesPassEveryCheckWithTheirUncheckedOutputs) {
  struct Callable {
    const char* orch;
    uint32_t func_id;
    const char* kernel;
    std::vector<int64_t> shape;
    std::map<std::string, double> scalars;
  };
  const std::vector<Callable> callables = {
      {"orch_chain.so", 2, "kernel_dag_op.so", {4}, {{"tasks", 16}}},
      {"orch_stream.so", 2, "kernel_dag_op.so", {1, 64}, {{"iterations", 50}}},
      {"orch_many.so", 2, "kernel_dag_op.so", {1, 64}, {{"count", 200}}},
      {"orch_logged.so", 1, "kernel_double.so", {3000}, {}},
      {"orch_probe.so", 1, "kernel_probe.so", {256}, {{"mode", 0}, {"tasks", 4}}},
      {"orch_probe.so", 1, "kernel_probe.so", {256}, {{"mode", 2}, {"bytes", 4096}}},
  };
  for (const Callable& c : callables) {
    SCOPED_TRACE(c.orch);
    auto id =
        rig_.worker->register_callable(test_image(c.orch, {{c.func_id, CoreType::aiv, c.kernel}}));
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    RunArgs args;
    int64_t n = 1;
    for (int64_t d : c.shape) n *= d;
    args.tensors["x"] = host_f32(c.shape, std::vector<float>(static_cast<size_t>(n), 1.0f));
    args.scalars = c.scalars;
    expect_clean(*rig_.worker, *id, args);
    ASSERT_TRUE(rig_.worker->unregister_callable(*id).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(Checks, CheckTest, ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

// Both runtimes find the same things, word for word: the same schedules place the same tasks on
// the same cores.
TEST(CheckRuntimes, BothRuntimesReportTheSameFindings) {
  for (int bug = 1; bug <= 7; ++bug) {
    std::vector<std::string> messages[2];
    for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      Rig rig = make_rig("a2a3", runtime);
      auto id = rig.worker->register_callable(check_image());
      ASSERT_TRUE(id.ok());
      RunArgs args = bug_args(bug);
      args.checks = all_checks();
      CheckReport report;
      args.check_report = &report;
      ASSERT_FALSE(rig.worker->run(*id, args).ok()) << "bug " << bug;
      for (const CheckFinding& f : report.findings) {
        messages[runtime == RuntimeKind::hbg].push_back(f.message);
      }
    }
    EXPECT_EQ(messages[0], messages[1]) << "bug " << bug;
  }
}

TEST(CheckParse, NamesListsAllAndNone) {
  EXPECT_EQ(Checks::parse("all")->enabled, Checks::kAll);
  EXPECT_EQ(Checks::parse("memcheck,initcheck")->enabled, Checks::kMemcheck | Checks::kInitcheck);
  EXPECT_EQ(Checks::parse("racecheck")->names(), "racecheck");
  EXPECT_FALSE(Checks::parse("none")->any());
  EXPECT_FALSE(Checks::parse("")->any());
  auto bad = Checks::parse("memcheck,leakcheck");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(bad.status().message().find("'leakcheck'"), std::string_view::npos);
}

// No false positives: every example passes every check on both runtimes, with outputs bitwise
// equal to its unchecked run.
struct ExampleRun {
  const char* name;
  RunArgs (*args)();
};
// ctest names print the example, not its bytes.
void PrintTo(const ExampleRun& e, std::ostream* os) {
  *os << e.name;
}
std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i % 97) * scale - 1.0f;
  return v;
}
RunArgs vector_args() {
  RunArgs a;
  a.tensors["a"] = host_f32({16, 64}, ramp(16 * 64, 0.5f));
  a.tensors["b"] = host_f32({16, 64}, ramp(16 * 64, 0.25f));
  return a;
}
RunArgs matmul_args() {
  RunArgs a;
  a.tensors["a"] = host_f32({64, 48}, ramp(64 * 48, 0.01f));
  a.tensors["b"] = host_f32({48, 40}, ramp(48 * 40, 0.02f));
  a.tensors["bias"] = host_f32({40}, ramp(40, 0.1f));
  a.scalars["tile"] = 16;
  return a;
}
RunArgs softmax_args() {
  RunArgs a;
  a.tensors["x"] = host_f32({32, 40}, ramp(32 * 40, 0.03f));
  a.scalars["tile"] = 8;
  return a;
}
RunArgs attention_args() {
  RunArgs a;
  a.tensors["q"] = host_f32({32, 16}, ramp(32 * 16, 0.01f));
  a.tensors["k"] = host_f32({48, 16}, ramp(48 * 16, 0.02f));
  a.tensors["v"] = host_f32({48, 8}, ramp(48 * 8, 0.03f));
  a.scalars["tile"] = 16;
  return a;
}

class CleanExampleTest : public ::testing::TestWithParam<std::tuple<RuntimeKind, ExampleRun>> {};

TEST_P(CleanExampleTest, PassesEveryCheckWithItsUncheckedOutputs) {
  const auto [runtime, example] = GetParam();
  Rig rig = make_rig("a2a3", runtime);
  auto id = rig.worker->register_callable(example_image(example.name));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  expect_clean(*rig.worker, *id, example.args());
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
}

INSTANTIATE_TEST_SUITE_P(Checks, CleanExampleTest,
                         ::testing::Combine(::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                                            ::testing::Values(ExampleRun{"vector", vector_args},
                                                              ExampleRun{"matmul", matmul_args},
                                                              ExampleRun{"softmax", softmax_args},
                                                              ExampleRun{"attention",
                                                                         attention_args})),
                         [](const auto& info) {
                           return std::string(runtime_name(std::get<0>(info.param))) + "_" +
                                  std::get<1>(info.param).name;
                         });

}  // namespace
}  // namespace chiprt::testing

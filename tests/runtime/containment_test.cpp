// Containment (I11, I13): user code never takes the host down, and the host trusts nothing a
// child process says. An hbg orchestration runs in the orchestration sandbox: its crash, abort,
// exit or hang fails its run with orchestration_failed naming the cause, the device stays
// healthy, and the next run is exact. No image code is ever mapped into the host. A kernel that
// forges device messages (written against the published protocol header) fails its run, never
// yields a forged output, never crashes the host; after reset() the device is back to its
// baseline and runs exactly.
#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "device/sim_chip.h"
#include "process_probe.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStall = std::chrono::seconds(1);
constexpr size_t kElements = 256;

// A sanitizer's runtime in a child catches its SEGV, reports it and then aborts or exits: the
// cause is then that signal or status, not SIGSEGV.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizedChildren = true;
#else
constexpr bool kSanitizedChildren = false;
#endif

bool names_a_segv(const std::string& message) {
  if (!kSanitizedChildren) return message.find("signal 11 (SEGV)") != std::string::npos;
  return message.find("killed by signal") != std::string::npos ||
         message.find("exited with status") != std::string::npos;
}

RunArgs x_args(std::map<std::string, double> scalars) {
  RunArgs args;
  std::vector<float> x(kElements);
  for (size_t i = 0; i < kElements; ++i) x[i] = static_cast<float>(i) * 0.5f;
  args.tensors["x"] = host_f32({static_cast<int64_t>(kElements)}, x);
  args.scalars = std::move(scalars);
  return args;
}

// out = x + 1, computed here.
void expect_healthy(const Result<RunReport>& report) {
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const auto out = floats(report->outputs.at("out"));
  ASSERT_EQ(out.size(), kElements);
  for (size_t i = 0; i < kElements; ++i) {
    ASSERT_EQ(out[i], static_cast<float>(i) * 0.5f + 1.0f) << "element " << i;
  }
}

WorkerOptions fast_deadlines() {
  WorkerOptions options;
  options.stall_timeout = kStall;
  options.run_timeout = std::chrono::seconds(60);
  return options;
}

// ---- Orchestration faults --------------------------------------------------------------------

struct OrchFault {
  RuntimeKind runtime;
  int scalar;  // orch_fault.c's `fault`
  const char* name;
  const char* hbg_cause;  // what the hbg message must name
};

void PrintTo(const OrchFault& f, std::ostream* os) {
  *os << runtime_name(f.runtime) << "_" << f.name;
}

class OrchestrationFaultTest : public ::testing::TestWithParam<OrchFault> {};

TEST_P(OrchestrationFaultTest, FailsTheRunAndTheNextRunIsExact) {
  const OrchFault fault = GetParam();
  const bool hbg = fault.runtime == RuntimeKind::hbg;
  const size_t fds_before = open_fds();
  ASSERT_TRUE(children().empty());
  {
    Rig rig = make_rig("a2a3", fault.runtime, fast_deadlines());
    const uint64_t baseline = rig.device->stats().live_bytes;
    const Bytes image =
        test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "orch");
    CallableId id = *rig.worker->register_callable(image);
    const std::vector<pid_t> sandboxes = children("chiprt-sandbox");
    EXPECT_EQ(sandboxes.size(), hbg ? 1u : 0u) << "hbg loads its orchestration in its sandbox";

    const auto start = Clock::now();
    auto failed = rig.worker->run(id, x_args({{"fault", fault.scalar}}));
    const auto took = Clock::now() - start;
    ASSERT_FALSE(failed.ok()) << "an orchestration fault never reports success";
    const std::string message(failed.status().message());
    if (fault.scalar == 11) {
      EXPECT_LT(took, kStall + std::chrono::seconds(2));
    }
    if (hbg) {
      EXPECT_EQ(failed.status().code(), StatusCode::orchestration_failed) << message;
      if (fault.scalar == 10) {
        EXPECT_TRUE(names_a_segv(message)) << message;
      } else {
        EXPECT_NE(message.find(fault.hbg_cause), std::string::npos) << message;
      }
      EXPECT_NE(message.find("'orch'"), std::string::npos) << message;
      // The device was never involved: it stays healthy, and so does the registration.
      EXPECT_TRUE(rig.device->health().ok());
      EXPECT_EQ(rig.worker->stats().device_losses, 0u);
      EXPECT_TRUE(children("chiprt-sandbox").empty()) << "the failed sandbox is gone";
    } else {
      EXPECT_EQ(failed.status().code(),
                fault.scalar == 11 ? StatusCode::deadline_exceeded : StatusCode::device_lost)
          << message;
      ASSERT_TRUE(rig.worker->reset().ok());
      id = *rig.worker->register_callable(image);
    }
    expect_healthy(rig.worker->run(id, x_args({{"fault", 0}})));
    if (hbg) {
      const std::vector<pid_t> fresh = children("chiprt-sandbox");
      ASSERT_EQ(fresh.size(), 1u);
      EXPECT_NE(fresh[0], sandboxes[0]) << "the next recording runs in a fresh sandbox";
    }
    ASSERT_TRUE(rig.worker->unregister_callable(id).ok());
    rig.worker->finalize();
    EXPECT_EQ(rig.device->stats().live_bytes, baseline);
    if (hbg) {
      EXPECT_TRUE(children("chiprt-sandbox").empty()) << "finalize ends the sandbox";
    }
  }
  EXPECT_TRUE(children().empty()) << "a child (or its zombie) outlived its worker";
  EXPECT_EQ(open_fds(), fds_before);
}

std::vector<OrchFault> orch_faults() {
  std::vector<OrchFault> out;
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    out.push_back({rt, 10, "segv", "killed by signal 11 (SEGV)"});
    out.push_back({rt, 12, "abort", "killed by signal 6 (ABRT)"});
    out.push_back({rt, 13, "exit", "exited with status 0"});
    out.push_back({rt, 11, "loop", "stalled for 1 s"});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Containment, OrchestrationFaultTest, ::testing::ValuesIn(orch_faults()),
                         [](const ::testing::TestParamInfo<OrchFault>& info) {
                           return std::string(runtime_name(info.param.runtime)) + "_" +
                                  info.param.name;
                         });

// A cached graph replays without its orchestration: a crash in the sandbox cannot reach it.
TEST(HbgSandboxTest, ACachedGraphReplaysWithoutTheSandbox) {
  Rig rig = make_rig("a2a3", RuntimeKind::hbg, fast_deadlines());
  const Bytes image = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "orch");
  const CallableId id = *rig.worker->register_callable(image);
  expect_healthy(rig.worker->run(id, x_args({{"fault", 0}})));
  const std::vector<pid_t> sandbox = children("chiprt-sandbox");
  ASSERT_EQ(sandbox.size(), 1u);
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, sandbox[0], 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(kill(sandbox[0], SIGKILL), 0);
  pollfd ended{pidfd, POLLIN, 0};
  ASSERT_EQ(poll(&ended, 1, 10'000), 1) << "the sandbox outlived SIGKILL";
  close(pidfd);
  auto replay = rig.worker->run(id, x_args({{"fault", 0}}));
  expect_healthy(replay);
  EXPECT_TRUE(replay->graph_cache_hit);
  // A new shape records again, in a fresh sandbox, with the orchestration loaded again there.
  RunArgs wider;
  std::vector<float> x(2 * kElements, 1.0f);
  wider.tensors["x"] = host_f32({static_cast<int64_t>(2 * kElements)}, x);
  auto recorded = rig.worker->run(id, wider);
  ASSERT_TRUE(recorded.ok()) << recorded.status().to_string();
  EXPECT_FALSE(recorded->graph_cache_hit);
  EXPECT_EQ(floats(recorded->outputs.at("out")), std::vector<float>(2 * kElements, 2.0f));
}

// The sandbox is a child of the host like the device process, and the worker reports it: its
// pid (the one chiprt-sandbox child this process has) and its resident memory, read here from
// /proc independently; none before the first recording and after finalize, none on tmr.
TEST(HbgSandboxTest, WorkerStatsReportTheSandboxProcessAndItsResidentMemory) {
  Rig tmr = make_rig("a2a3", RuntimeKind::tmr);
  EXPECT_EQ(tmr.worker->stats().sandbox.pid, 0);
  Rig rig = make_rig("a2a3", RuntimeKind::hbg, fast_deadlines());
  EXPECT_EQ(rig.worker->stats().sandbox.pid, 0);  // started by the first load
  const Bytes image = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "orch");
  const CallableId id = *rig.worker->register_callable(image);
  expect_healthy(rig.worker->run(id, x_args({{"fault", 0}})));
  const std::vector<pid_t> sandbox = children("chiprt-sandbox");
  ASSERT_EQ(sandbox.size(), 1u);
  const WorkerStats stats = rig.worker->stats();
  EXPECT_EQ(stats.sandbox.pid, sandbox[0]);
  uint64_t vm_rss_kb = 0;
  std::ifstream status("/proc/" + std::to_string(sandbox[0]) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) vm_rss_kb = std::stoull(line.substr(6));
  }
  ASSERT_GT(vm_rss_kb, 0u);
  // The sandbox is idle between the two reads: its resident memory barely moves.
  EXPECT_NEAR(static_cast<double>(stats.sandbox.resident_bytes), vm_rss_kb * 1024.0, 1 << 20);
  EXPECT_GE(stats.sandbox.peak_resident_bytes, stats.sandbox.resident_bytes);
  ASSERT_TRUE(rig.worker->unregister_callable(id).ok());
  rig.worker->finalize();
  EXPECT_EQ(rig.worker->stats().sandbox.pid, 0);
}

// ---- No image code in the host ---------------------------------------------------------------

// Lines of /proc/PID/maps that map code chiprt's loader placed (its memfds are "chiprt-code").
std::vector<std::string> loaded_code_maps(pid_t pid) {
  std::vector<std::string> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find("chiprt-code") != std::string::npos) out.push_back(line);
  }
  return out;
}

TEST(HostTrustTest, NoImageCodeIsMappedInTheHostOnEitherRuntime) {
  const std::vector<std::string> examples = {"vector",    "matmul",      "softmax",
                                             "attention", "layered_dag", "tiled_wavefront"};
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    SCOPED_TRACE(runtime_name(rt));
    Rig rig = make_rig("a2a3", rt);
    std::vector<CallableId> ids;
    for (const std::string& name : examples)
      ids.push_back(*rig.worker->register_callable(example_image(name)));
    // Run one of them on each runtime (its orchestration runs where the runtime runs it).
    RunArgs args;
    args.tensors["a"] = host_f32({64, 64}, std::vector<float>(64 * 64, 2.0f));
    args.tensors["b"] = host_f32({64, 64}, std::vector<float>(64 * 64, 3.0f));
    auto run = rig.worker->run(ids[0], args);
    ASSERT_TRUE(run.ok()) << run.status().to_string();
    EXPECT_EQ(floats(run->outputs.at("f")), std::vector<float>(64 * 64, 47.0f));
    EXPECT_EQ(loaded_code_maps(getpid()), std::vector<std::string>{})
        << "image code mapped into the host";
    // It is mapped where it runs: the device process (kernels; tmr orchestrations) and, on hbg,
    // the worker's sandbox (orchestrations).
    const pid_t device = (*dynamic_cast<device::SimChip&>(*rig.device).process())->pid();
    EXPECT_FALSE(loaded_code_maps(device).empty());
    if (rt == RuntimeKind::hbg) {
      const std::vector<pid_t> sandbox = children("chiprt-sandbox");
      ASSERT_EQ(sandbox.size(), 1u);
      EXPECT_FALSE(loaded_code_maps(sandbox[0]).empty());
    }
  }
}

// ---- Forged messages -------------------------------------------------------------------------

struct Forgery {
  RuntimeKind runtime;
  int mode;  // kernel_forge.cpp's
  const char* name;
};

void PrintTo(const Forgery& f, std::ostream* os) {
  *os << runtime_name(f.runtime) << "_" << f.name;
}

class ForgedMessageTest : public ::testing::TestWithParam<Forgery> {};

TEST_P(ForgedMessageTest, FailsTheRunAndResetRestoresTheBaseline) {
  Rig rig = make_rig("a2a3", GetParam().runtime, fast_deadlines());
  const uint64_t baseline = rig.device->stats().live_bytes;
  const Bytes image = test_image("orch_forge.so", {{1, CoreType::aiv, "kernel_forge.so"}}, "forge");
  // Another owner's live buffer: a callable registered by the same worker.
  const Bytes other = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "other");
  const CallableId other_id = *rig.worker->register_callable(other);
  const CallableInfo victim = *rig.worker->callable_info(other_id);
  const CallableId id = *rig.worker->register_callable(image);
  const auto target = static_cast<double>(victim.buffer_addr);

  auto forged = rig.worker->run(id, x_args({{"mode", GetParam().mode}, {"target", target}}));
  ASSERT_FALSE(forged.ok()) << "a run whose device forged messages never succeeds";
  const std::string message(forged.status().message());
  EXPECT_EQ(forged.status().code(), StatusCode::device_lost) << message;
  if (GetParam().mode != 9) {
    EXPECT_NE(message.find("broke the protocol"), std::string::npos) << message;
  } else {
    EXPECT_TRUE(names_a_segv(message)) << message;
  }
  EXPECT_EQ(message.find("signal 9"), std::string::npos) << "the host's kill is no fault";
  EXPECT_LT(message.size(), 4096u) << message;

  ASSERT_TRUE(rig.worker->reset().ok());
  EXPECT_EQ(rig.device->stats().live_bytes, baseline + rig.worker->stats().heap_bytes_reserved)
      << "a reset device holds no registration and nothing a forgery made";
  const CallableId again = *rig.worker->register_callable(image);
  expect_healthy(rig.worker->run(again, x_args({{"mode", 0}})));
  ASSERT_TRUE(rig.worker->unregister_callable(again).ok());
  rig.worker->finalize();
  EXPECT_EQ(rig.device->stats().live_bytes, baseline);
}

std::vector<Forgery> forgeries() {
  const std::pair<int, const char*> modes[] = {{1, "OversizedOutput"},
                                               {2, "OutputOutsideTheRun"},
                                               {3, "OutputInAnotherOwnersBuffer"},
                                               {4, "CompletionForAnUnknownRun"},
                                               {5, "OversizedFrame"},
                                               {6, "RandomBytes"},
                                               {7, "FreesOfBlocksNotLent"},
                                               {8, "AllocationFlood"},
                                               {9, "ScribbledStatusPageThenCrash"}};
  std::vector<Forgery> out;
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    for (const auto& [mode, name] : modes) out.push_back({rt, mode, name});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Containment, ForgedMessageTest, ::testing::ValuesIn(forgeries()),
                         [](const ::testing::TestParamInfo<Forgery>& info) {
                           return std::string(runtime_name(info.param.runtime)) + "_" +
                                  info.param.name;
                         });

}  // namespace
}  // namespace chiprt::testing

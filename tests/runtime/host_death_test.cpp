// Nothing chiprt starts outlives its host (I15): the device process and the orchestration
// sandbox end within a second of their host's death, however it dies (SIGKILL, SIGTERM,
// SIGINT), while a kernel or an orchestration spins, on both runtimes. A worker created on a
// thread that then ends keeps its children: they are tied to a thread that lives as long as they
// do, not to the thread that asked for them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

#include "process_probe.h"
#include "runtime_test_util.h"

extern char** environ;

namespace chiprt::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct HostDeath {
  RuntimeKind runtime;
  bool orchestration_spins;  // else a kernel spins
  int signal;
};

void PrintTo(const HostDeath& c, std::ostream* os) {
  *os << runtime_name(c.runtime) << (c.orchestration_spins ? "_orchestration_" : "_kernel_")
      << sigabbrev_np(c.signal);
}

class HostDeathTest : public ::testing::TestWithParam<HostDeath> {};

TEST_P(HostDeathTest, EveryChildEndsWithinASecondOfItsHost) {
  const HostDeath c = GetParam();
  const fs::path dir = fs::temp_directory_path() /
                       ("chiprt-host-death-" + std::to_string(getpid()) + "-" +
                        std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  fs::create_directories(dir);
  const Bytes image = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "spin");
  std::ofstream(dir / "spin.chipimg", std::ios::binary)
      .write(reinterpret_cast<const char*>(image.data()),
             static_cast<std::streamsize>(image.size()));
  xt::xarray<float> x = xt::zeros<float>({64});
  xt::dump_npy((dir / "x.npy").string(), x);

  // The host: `chiprt run` of a callable that spins (fault 5 in the kernel, 11 in the
  // orchestration), with deadlines far away.
  std::vector<std::string> args = {CHIPRT_CLI,
                                   "run",
                                   (dir / "spin.chipimg").string(),
                                   "--runtime",
                                   std::string(runtime_name(c.runtime)),
                                   "--arg",
                                   "x=" + (dir / "x.npy").string(),
                                   "--scalar",
                                   c.orchestration_spins ? "fault=11" : "fault=5",
                                   "--timeout",
                                   "120",
                                   "--stall-timeout",
                                   "60"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t host = -1;
  ASSERT_EQ(posix_spawn(&host, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Wait until what should spin does: the device process (kernel) or the sandbox (hbg
  // orchestration; tmr runs its orchestration on the device) has burnt a quarter second.
  const std::string spinner =
      c.orchestration_spins && c.runtime == RuntimeKind::hbg ? "chiprt-sandbox" : "chiprt-device";
  const long ticks = sysconf(_SC_CLK_TCK);
  std::vector<pid_t> started;
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  bool spinning = false;
  while (!spinning && Clock::now() < give_up) {
    started = children_of(host);
    for (pid_t child : started) {
      if (comm_of(child) == spinner &&
          proc_stat(child).cpu_ticks * 4 >= static_cast<uint64_t>(ticks)) {
        spinning = true;
      }
    }
    if (!spinning) std::this_thread::yield();
  }
  ASSERT_TRUE(spinning) << spinner << " never started spinning";
  ASSERT_EQ(started.size(), c.runtime == RuntimeKind::hbg ? 2u : 1u);
  std::vector<int> pidfds;
  for (pid_t child : started) {
    pidfds.push_back(static_cast<int>(syscall(SYS_pidfd_open, child, 0)));
    ASSERT_GE(pidfds.back(), 0);
  }

  ASSERT_EQ(kill(host, c.signal), 0);
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  const auto died = Clock::now();
  for (size_t i = 0; i < pidfds.size(); ++i) {
    pollfd ended{pidfds[i], POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        died + std::chrono::seconds(1) - Clock::now());
    const int ready = poll(&ended, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    EXPECT_EQ(ready, 1) << comm_of(started[i]) << " (pid " << started[i]
                        << ") outlived its host by a second";
    if (ready != 1) kill(started[i], SIGKILL);
    close(pidfds[i]);
  }
  fs::remove_all(dir);
}

std::vector<HostDeath> host_deaths() {
  std::vector<HostDeath> out;
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    for (bool orchestration : {false, true}) {
      for (int sig : {SIGKILL, SIGTERM, SIGINT}) out.push_back({rt, orchestration, sig});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Lifecycle, HostDeathTest, ::testing::ValuesIn(host_deaths()),
                         [](const ::testing::TestParamInfo<HostDeath>& info) {
                           std::ostringstream name;
                           PrintTo(info.param, &name);
                           return name.str();
                         });

// The worker is made, and its callable registered, on a thread that then ends; the device
// process and the sandbox it started must still serve the worker.
TEST(ChildLifetimeTest, AWorkerMadeOnAShortLivedThreadKeepsItsChildren) {
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    SCOPED_TRACE(runtime_name(rt));
    Rig rig;
    CallableId id{};
    std::thread maker([&] {
      rig = make_rig("a2a3", rt);
      const Bytes image =
          test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "thread");
      id = *rig.worker->register_callable(image);
    });
    maker.join();
    RunArgs args;
    args.tensors["x"] = host_f32({8}, std::vector<float>(8, 1.0f));
    args.scalars["fault"] = 0;
    auto run = rig.worker->run(id, args);
    ASSERT_TRUE(run.ok()) << run.status().to_string();
    EXPECT_EQ(floats(run->outputs.at("out")), std::vector<float>(8, 2.0f));
    EXPECT_EQ(rig.worker->stats().device_losses, 0u);
  }
}

}  // namespace
}  // namespace chiprt::testing

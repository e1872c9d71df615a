// The device process (I11): device code that crashes, aborts, exits or hangs fails its run with
// device_lost or deadline_exceeded naming what ran, within the deadline; the host survives;
// the device stays lost until reset(), after which the same worker runs exactly again; finalize
// always returns; nothing is left behind (children, fds, device bytes). Also: start-up failures
// are values, and one chip runs one process with its AICPU threads and one execution pool.
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <stop_token>
#include <thread>

#include "chiprt/worker_pool.h"
#include "device/sim_chip.h"
#include "device_process/status_recorder.h"
#include "process_probe.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStall = std::chrono::seconds(1);
constexpr size_t kElements = 256;

// The names of a process's threads, as `top -H` shows them.
std::multiset<std::string> thread_names(pid_t pid) {
  std::multiset<std::string> names;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = opendir(tasks.c_str());
  if (dir == nullptr) return names;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::string name;
    std::getline(std::ifstream(tasks + "/" + e->d_name + "/comm"), name);
    names.insert(name);
  }
  closedir(dir);
  return names;
}

size_t threads_of(pid_t pid) {
  return thread_names(pid).size();
}

pid_t device_pid(Device& device) {
  auto process = dynamic_cast<device::SimChip&>(device).process();
  EXPECT_TRUE(process.ok());
  return process.ok() ? (*process)->pid() : -1;
}

Bytes fault_image() {
  return test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "fault");
}

RunArgs fault_args(int fault) {
  RunArgs args;
  std::vector<float> x(kElements);
  for (size_t i = 0; i < kElements; ++i) x[i] = static_cast<float>(i) * 0.5f;
  args.tensors["x"] = host_f32({static_cast<int64_t>(kElements)}, x);
  args.scalars["fault"] = fault;
  return args;
}

// out = x + 1, computed here.
void expect_healthy_output(const RunReport& report) {
  const auto out = floats(report.outputs.at("out"));
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

enum class Fault {
  kernel_segv,
  kernel_abort,
  kernel_exit,
  kernel_loop,
  orch_segv,
  orch_loop,
  killed
};

struct FaultCase {
  RuntimeKind runtime;
  Fault fault;
};

std::string fault_name(Fault f) {
  switch (f) {
    case Fault::kernel_segv:
      return "kernel_segv";
    case Fault::kernel_abort:
      return "kernel_abort";
    case Fault::kernel_exit:
      return "kernel_exit";
    case Fault::kernel_loop:
      return "kernel_loop";
    case Fault::orch_segv:
      return "orch_segv";
    case Fault::orch_loop:
      return "orch_loop";
    case Fault::killed:
      return "killed";
  }
  return "?";
}

int fault_scalar(Fault f) {
  switch (f) {
    case Fault::kernel_segv:
      return 2;
    case Fault::kernel_abort:
      return 3;
    case Fault::kernel_exit:
      return 4;
    case Fault::kernel_loop:
      return 5;
    case Fault::orch_segv:
      return 10;
    case Fault::orch_loop:
      return 11;
    case Fault::killed:
      return 5;  // spins until killed from outside
  }
  return 0;
}

// ctest names print the case, not its bytes.
void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << runtime_name(c.runtime) << "_" << fault_name(c.fault);
}

class DeviceFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(DeviceFaultTest, FailsTheRunThenResetRunsExactlyAndNothingIsLeft) {
  const Fault fault = GetParam().fault;
  const bool loops = fault == Fault::kernel_loop || fault == Fault::orch_loop;
  const bool kernel = fault != Fault::orch_segv && fault != Fault::orch_loop;
  const size_t fds_before = open_fds();
  ASSERT_TRUE(children().empty());
  std::vector<pid_t> pids;
  {
    WorkerOptions options = fast_deadlines();
    if (fault == Fault::killed) options.stall_timeout = std::chrono::seconds(60);
    Rig rig = make_rig("a2a3", GetParam().runtime, options);
    const uint64_t baseline = rig.device->stats().live_bytes;
    pids.push_back(device_pid(*rig.device));
    const Bytes image = fault_image();
    const CallableId id = *rig.worker->register_callable(image);

    std::thread killer;
    if (fault == Fault::killed) {
      auto process = dynamic_cast<device::SimChip&>(*rig.device).process();
      ASSERT_TRUE(process.ok());
      killer = std::thread([pid = pids.back(), process = *process] {
        // Killed once the device's status page shows the kernel running, which the message
        // must then name. The bound only ends a test that already failed.
        const auto& page = process->status_page();
        auto kernel_runs = [&] {
          for (const auto& record : page.records) {
            if (record.state.load() == device::protocol::ThreadRecord::kernel &&
                record.func_id.load() == 1) {
              return true;
            }
          }
          return false;
        };
        for (const auto until = Clock::now() + std::chrono::seconds(60);
             !kernel_runs() && Clock::now() < until;) {
          std::this_thread::yield();
        }
        kill(pid, SIGKILL);
      });
    }
    const auto start = Clock::now();
    auto failed = rig.worker->run(id, fault_args(fault_scalar(fault)));
    const auto took = Clock::now() - start;
    if (killer.joinable()) killer.join();

    ASSERT_FALSE(failed.ok());
    const std::string message(failed.status().message());
    EXPECT_EQ(failed.status().code(),
              loops ? StatusCode::deadline_exceeded : StatusCode::device_lost)
        << message;
    if (loops) {
      EXPECT_LT(took, kStall + std::chrono::seconds(2));
    }
    if (kernel) {
      EXPECT_NE(message.find("func_id 1 on aiv core"), std::string::npos) << message;
    } else if (GetParam().runtime == RuntimeKind::tmr) {
      EXPECT_NE(message.find("the orchestration of run"), std::string::npos) << message;
    }
    if (fault == Fault::kernel_exit) {
      EXPECT_NE(message.find("exited with status"), std::string::npos) << message;
    }
    if (fault == Fault::killed) {
      EXPECT_NE(message.find("signal 9"), std::string::npos) << message;
    }
    EXPECT_EQ(rig.worker->stats().device_losses, 1u);

    // Sticky until reset.
    EXPECT_EQ(rig.worker->run(id, fault_args(0)).status().code(), StatusCode::device_lost);
    EXPECT_EQ(rig.worker->register_callable(image).status().code(), StatusCode::device_lost);

    ASSERT_TRUE(rig.worker->reset().ok());
    pids.push_back(device_pid(*rig.device));
    EXPECT_NE(pids[0], pids[1]);
    EXPECT_EQ(rig.worker->run(id, fault_args(0)).status().code(), StatusCode::not_found);
    const CallableId again = *rig.worker->register_callable(image);
    auto healthy = rig.worker->run(again, fault_args(0));
    ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
    expect_healthy_output(*healthy);
    ASSERT_TRUE(rig.worker->unregister_callable(again).ok());
    // Device memory outlives a reset: the worker keeps its intermediate heap(s) until finalize.
    EXPECT_EQ(rig.device->stats().live_bytes, baseline + rig.worker->stats().heap_bytes_reserved);
    rig.worker->finalize();
    EXPECT_EQ(rig.device->stats().live_bytes, baseline);
    EXPECT_EQ(rig.worker->stats().device_losses, 1u);

    const auto finalize_start = Clock::now();
    rig.worker->finalize();
    EXPECT_LT(Clock::now() - finalize_start, std::chrono::seconds(2));
  }
  EXPECT_TRUE(children().empty()) << "a device process (or its zombie) outlived its chip";
  for (pid_t pid : pids) EXPECT_NE(kill(pid, 0), 0) << pid;
  EXPECT_EQ(open_fds(), fds_before);
}

std::vector<FaultCase> fault_cases() {
  std::vector<FaultCase> out;
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    for (Fault f : {Fault::kernel_segv, Fault::kernel_abort, Fault::kernel_exit, Fault::kernel_loop,
                    Fault::killed}) {
      out.push_back({rt, f});
    }
  }
  // On hbg the orchestration runs on the host: its faults are the host's, by design.
  out.push_back({RuntimeKind::tmr, Fault::orch_segv});
  out.push_back({RuntimeKind::tmr, Fault::orch_loop});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Faults, DeviceFaultTest, ::testing::ValuesIn(fault_cases()),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           return std::string(runtime_name(info.param.runtime)) + "_" +
                                  fault_name(info.param.fault);
                         });

class DeviceTest : public ::testing::TestWithParam<RuntimeKind> {};

TEST_P(DeviceTest, KernelFailureIsAnOrdinaryRunErrorAndTheDeviceStays) {
  Rig rig = make_rig("a2a3", GetParam(), fast_deadlines());
  const pid_t pid = device_pid(*rig.device);
  const CallableId id = *rig.worker->register_callable(fault_image());
  auto failed = rig.worker->run(id, fault_args(6));
  EXPECT_EQ(failed.status().code(), StatusCode::kernel_failed) << failed.status().to_string();
  EXPECT_TRUE(rig.device->health().ok());
  auto healthy = rig.worker->run(id, fault_args(0));
  ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
  expect_healthy_output(*healthy);
  EXPECT_EQ(device_pid(*rig.device), pid);
  EXPECT_EQ(rig.worker->stats().device_losses, 0u);
}

TEST_P(DeviceTest, RunDeadlineKillsALongRunEvenWhileItStallsLess) {
  WorkerOptions options;
  options.run_timeout = std::chrono::seconds(1);
  options.stall_timeout = std::chrono::seconds(60);
  Rig rig = make_rig("a2a3", GetParam(), options);
  const CallableId id = *rig.worker->register_callable(fault_image());
  const auto start = Clock::now();
  auto failed = rig.worker->run(id, fault_args(5));
  EXPECT_EQ(failed.status().code(), StatusCode::deadline_exceeded);
  EXPECT_NE(failed.status().message().find("run deadline of 1 s"), std::string::npos)
      << failed.status().message();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
}

// A stop request (RunArgs::stop) ends a run whose kernel spins with `cancelled` within a bound
// (100 ms is the promise; asserted with a wide margin) and loses the device as a missed deadline
// does, until reset(); a stop requested before the run reaches the device withdraws it and the
// device stays healthy. The spin shows in the device process's CPU time (process_cpu_seconds),
// which is what LimitsTest.IdleCoresConsumeNoCpu reads there.
TEST_P(DeviceTest, AStopRequestCancelsASpinningRunWithinItsBound) {
  WorkerOptions options;
  options.run_timeout = std::chrono::seconds(120);
  options.stall_timeout = std::chrono::seconds(120);
  Rig rig = make_rig("a2a3", GetParam(), options);
  const pid_t pid = device_pid(*rig.device);
  const Bytes image = fault_image();
  const CallableId id = *rig.worker->register_callable(image);
  {
    std::stop_source early;
    early.request_stop();
    RunArgs args = fault_args(5);
    args.stop = early.get_token();
    auto withdrawn = rig.worker->run(id, args);
    EXPECT_EQ(withdrawn.status().code(), StatusCode::cancelled) << withdrawn.status().to_string();
    EXPECT_TRUE(rig.device->health().ok());
    auto healthy = rig.worker->run(id, fault_args(0));
    ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
    expect_healthy_output(*healthy);
  }

  std::stop_source stop;
  RunArgs args = fault_args(5);
  args.stop = stop.get_token();
  std::atomic<bool> returned{false};
  Clock::time_point requested{};
  double spun = 0;
  // Waits for the event (the kernel spinning: the device process burns CPU), then stops.
  std::thread canceller([&] {
    const double before = process_cpu_seconds(pid);
    const auto give_up = Clock::now() + std::chrono::seconds(30);
    while (!returned.load() && Clock::now() < give_up) {
      spun = process_cpu_seconds(pid) - before;
      if (spun >= 0.3) break;
      std::this_thread::yield();
    }
    requested = Clock::now();
    stop.request_stop();
  });
  auto cancelled = rig.worker->run(id, args);
  const auto returned_at = Clock::now();
  returned = true;
  canceller.join();
  const auto took = returned_at - requested;

  EXPECT_GE(spun, 0.3) << "the spinning kernel shows in the device process's CPU time";
  ASSERT_EQ(cancelled.status().code(), StatusCode::cancelled) << cancelled.status().to_string();
  const std::string message(cancelled.status().message());
  EXPECT_NE(message.find("cancelled"), std::string::npos) << message;
  EXPECT_NE(message.find("func_id 1 on aiv core"), std::string::npos) << message;
  EXPECT_LT(took, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  std::printf("[ cancel   ] %s: returned %.1f ms after the stop request\n",
              std::string(runtime_name(GetParam())).c_str(),
              std::chrono::duration<double, std::milli>(took).count());
  EXPECT_EQ(rig.device->health().code(), StatusCode::device_lost);
  EXPECT_EQ(rig.worker->stats().device_losses, 1u);

  ASSERT_TRUE(rig.worker->reset().ok());
  const CallableId again = *rig.worker->register_callable(image);
  auto healthy = rig.worker->run(again, fault_args(0));
  ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
  expect_healthy_output(*healthy);
}

// The stall deadline watches progress: a run whose tasks each finish well within it is never
// taken for stalled, however long they take together, even as one chain of tasks run back to
// back by one core thread (which reports completions once per chain).
TEST_P(DeviceTest, AChainOfSlowTasksIsProgressNotAStall) {
  constexpr int kChain = 24;  // 50 ms each: 1.2 s in all, three stall deadlines
  WorkerOptions options;
  options.stall_timeout = std::chrono::milliseconds(400);
  options.run_timeout = std::chrono::seconds(60);
  Rig rig = make_rig("a2a3", GetParam(), options);
  const CallableId id = *rig.worker->register_callable(fault_image());
  RunArgs args = fault_args(7);
  args.scalars["chain"] = kChain;
  auto report = rig.worker->run(id, args);
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->tasks, static_cast<uint64_t>(kChain));
  const auto out = floats(report->outputs.at("out"));
  ASSERT_EQ(out.size(), kElements);
  for (size_t i = 0; i < kElements; ++i) {
    ASSERT_EQ(out[i], static_cast<float>(i) * 0.5f + kChain) << "element " << i;
  }
}

TEST_P(DeviceTest, ALossOnOneRuntimeIsSharedAndAResetDropsTheOtherWorkersRegistrations) {
  WorkerPoolOptions options;
  options.device_memory_bytes = 64ull << 20;
  options.worker = fast_deadlines();
  options.worker.heap_bytes = 1 << 20;  // a2a3's 64 MiB heap would fill this device
  auto pool = WorkerPool::create(options);
  ASSERT_TRUE(pool.ok()) << pool.status().to_string();
  ChipWorker* faulty = *(*pool)->worker(GetParam(), 0);
  ChipWorker* other =
      *(*pool)->worker(GetParam() == RuntimeKind::tmr ? RuntimeKind::hbg : RuntimeKind::tmr, 0);
  const Bytes image = fault_image();
  const CallableId mine = *faulty->register_callable(image);
  const CallableId theirs = *other->register_callable(image);
  const uint64_t baseline_theirs_bytes = (*pool)->device(0).stats().live_bytes;
  EXPECT_GT(baseline_theirs_bytes, 0u);
  EXPECT_EQ(faulty->run(mine, fault_args(2)).status().code(), StatusCode::device_lost);
  EXPECT_EQ(other->run(theirs, fault_args(0)).status().code(), StatusCode::device_lost);
  ASSERT_TRUE(faulty->reset().ok());
  EXPECT_EQ(other->run(theirs, fault_args(0)).status().code(), StatusCode::not_found);
  EXPECT_EQ(other->unregister_callable(theirs).code(), StatusCode::not_found);
  EXPECT_EQ((*pool)->device(0).stats().tag(MemoryTag::callable).live_bytes, 0u)
      << "the lost device's registrations still hold device memory";
  const CallableId fresh = *other->register_callable(image);
  auto healthy = other->run(fresh, fault_args(0));
  ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
  expect_healthy_output(*healthy);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, DeviceTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

TEST(DeviceLifecycleTest, TwoHundredWorkersLeaveNoChildAndNoFd) {
  const size_t fds_before = open_fds();
  const auto profile = *chip_profile("a2a3");
  for (int i = 0; i < 200; ++i) {
    auto device = create_sim_chip(profile, 1 << 20);
    ASSERT_NE(device, nullptr);
    WorkerOptions options;
    options.runtime = i % 2 ? RuntimeKind::hbg : RuntimeKind::tmr;
    auto worker = ChipWorker::create(device, options);
    ASSERT_TRUE(worker.ok()) << worker.status().to_string();
    (*worker)->finalize();
  }
  EXPECT_TRUE(children().empty());
  EXPECT_EQ(open_fds(), fds_before);
}

TEST(DeviceLifecycleTest, AMissingDeviceExecutableIsAnErrorFromCreate) {
  const size_t fds_before = open_fds();
  setenv("CHIPRT_DEVICE_EXECUTABLE", "/nonexistent/chiprt-device", 1);
  auto worker = ChipWorker::create(create_sim_chip(*chip_profile("a2a3"), 1 << 20));
  WorkerPoolOptions pool_options;
  pool_options.device_memory_bytes = 1 << 20;
  auto pool = WorkerPool::create(pool_options);
  unsetenv("CHIPRT_DEVICE_EXECUTABLE");
  EXPECT_EQ(worker.status().code(), StatusCode::unavailable) << worker.status().to_string();
  EXPECT_NE(worker.status().message().find("CHIPRT_DEVICE_EXECUTABLE"), std::string::npos);
  EXPECT_EQ(pool.status().code(), StatusCode::unavailable) << pool.status().to_string();
  EXPECT_TRUE(children().empty());
  EXPECT_EQ(open_fds(), fds_before);
}

TEST(DeviceLifecycleTest, OneChipRunsOneProcessWithItsAicpuThreadsAndOneExecutionPool) {
  WorkerPoolOptions options;
  options.device_memory_bytes = 64ull << 20;
  options.worker.heap_bytes = 1 << 20;  // a2a3's 64 MiB heap would fill this device
  auto pool = WorkerPool::create(options);
  ASSERT_TRUE(pool.ok()) << pool.status().to_string();
  const Bytes image = fault_image();
  for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    ChipWorker* worker = *(*pool)->worker(rt, 0);
    const CallableId id = *worker->register_callable(image);
    auto report = worker->run(id, fault_args(0));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    expect_healthy_output(*report);
  }
  std::multiset<std::string> kinds;
  for (pid_t child : children()) kinds.insert(comm_of(child));
  ASSERT_EQ(kinds.count("chiprt-device"), 1u) << "both runtimes of a chip share one device process";
  ASSERT_EQ(kinds.count("chiprt-sandbox"), 1u) << "the hbg worker's orchestration sandbox";
  ASSERT_EQ(kinds.size(), 2u);
  const pid_t pid = device_pid((*pool)->device(0));
  const ChipProfile& profile = (*pool)->device(0).profile();
  // The default pool leaves one hardware thread to the AICPU threads and the host.
  const size_t machine = std::thread::hardware_concurrency();
  const size_t execution = machine > 1 ? machine - 1 : 1;
  // AICPU threads + the execution pool + the thread serving the control channel + the stall
  // reporter (+ the background thread ThreadSanitizer's runtime adds to every process).
  size_t limit = profile.aicpu_threads +
                 std::min<size_t>(execution, profile.aic_cores + profile.aiv_cores) + 2;
#if defined(__SANITIZE_THREAD__)
  limit += 1;
#endif
  EXPECT_LE(threads_of(pid), limit);
  EXPECT_LT(threads_of(pid), profile.aic_cores + profile.aiv_cores)
      << "a thread per simulated core";
  // Each thread says what it is.
  const std::multiset<std::string> names = thread_names(pid);
  for (uint32_t i = 0; i < profile.aicpu_threads; ++i) {
    EXPECT_EQ(names.count("chiprt-aicpu" + std::to_string(i)), 1u) << "AICPU thread " << i;
  }
  for (size_t i = 0; i < std::min<size_t>(execution, profile.aic_cores + profile.aiv_cores); ++i) {
    EXPECT_EQ(names.count("chiprt-core" + std::to_string(i)), 1u) << "execution thread " << i;
  }
  EXPECT_EQ(names.count("chiprt-stall"), 1u) << "the stall reporter";
}

// The status page names what each device thread was running when the device died. An
// orchestration thread that runs ready tasks while it waits for a ring slot is running its
// orchestration again once the kernel returns; a core thread is idle again.
TEST(StatusRecorderTest, AKernelEndsInWhatItsThreadWasDoingBefore) {
  using device::protocol::ThreadRecord;
  auto page = std::make_unique<device::protocol::StatusPage>();
  device_process::StatusRecorder recorder(*page);
  runtime::TaskDesc task;
  task.task_id = 3;
  task.func_id = 1;
  // Fresh threads: each claims a record of this page (records are claimed once per thread).
  std::thread([&] {
    recorder.orchestration_begin(7);
    recorder.kernel_begin(7, task, 1);
    const ThreadRecord& r = page->records[0];
    EXPECT_EQ(r.state.load(), ThreadRecord::kernel);
    EXPECT_EQ(r.task.load(), 3u);
    recorder.kernel_end();
    EXPECT_EQ(r.state.load(), ThreadRecord::orchestration);
    EXPECT_EQ(r.run.load(), 7u);
  }).join();
  std::thread([&] {
    recorder.kernel_begin(8, task, 0);
    recorder.kernel_end();
    EXPECT_EQ(page->records[1].state.load(), ThreadRecord::idle);
  }).join();
  EXPECT_EQ(page->threads.load(), 2u);
}

}  // namespace
}  // namespace chiprt::testing

// I15, host memory held only for what is live: rolling registrations with one run each (one
// callable live at a time) leave the resident memory of the host and of the device process
// where it was after the first 2,000, on both runtimes; and the device keeps nothing for a graph
// the host dropped (hbg: every replay is dropped with its graph, none is evicted by the bound).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#if defined(__SANITIZE_ADDRESS__)
#define CHIPRT_ADDRESS_SANITIZER 1
// The sanitizer allocator's public interface (sanitizer/allocator_interface.h, which GCC does not
// install).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

#include "base/resident_memory.h"
#include "chiprt/worker.h"
#include "example_images.h"
#include "foundation/test_support.h"

namespace chiprt {
namespace {

constexpr size_t kWarm = 2000;
constexpr size_t kTotal = 20000;
constexpr uint64_t kSlackBytes = 8ull << 20;

// Under AddressSanitizer freed blocks wait in a quarantine (256 MB by default) before their pages
// are reused, so a process's resident memory grows by up to that much whatever it holds. There
// the host is measured by the allocator's live bytes, and the device process, which reads
// ASAN_OPTIONS when it starts, is started without a quarantine.
uint64_t host_memory_bytes() {
#ifdef CHIPRT_ADDRESS_SANITIZER
  return __sanitizer_get_current_allocated_bytes();
#else
  return resident_memory().resident_bytes;
#endif
}

void start_children_without_quarantine() {
#ifdef CHIPRT_ADDRESS_SANITIZER
  const char* inherited = std::getenv("ASAN_OPTIONS");
  std::string options = inherited != nullptr ? inherited : "";
  options += options.empty() ? "quarantine_size_mb=0" : ":quarantine_size_mb=0";
  ASSERT_EQ(setenv("ASAN_OPTIONS", options.c_str(), 1), 0);
#endif
}

class RollingMemoryTest : public ::testing::TestWithParam<RuntimeKind> {};

TEST_P(RollingMemoryTest, ResidentMemoryStaysFlatOverRollingRegistrationsWithRuns) {
  start_children_without_quarantine();
  auto profile = chip_profile("a2a3");
  ASSERT_TRUE(profile.ok());
  auto device = create_sim_chip(*profile, 1ull << 30);
  ASSERT_NE(device, nullptr);
  WorkerOptions options;
  options.runtime = GetParam();
  auto worker = ChipWorker::create(device, options);
  ASSERT_TRUE(worker.ok()) << worker.status().to_string();
  const Bytes image = test::distinct_vector_images(1).at(0);
  const RunArgs args = cli::vector_run_args(32, 32);

  uint64_t wrong = 0;
  auto churn = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) {
      auto id = (*worker)->register_callable(image);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      auto report = (*worker)->run(*id, args);
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      wrong += cli::is_vector_golden(*report, 32 * 32) ? 0 : 1;
      ASSERT_TRUE((*worker)->unregister_callable(*id).ok());
    }
  };
  churn(kWarm);
  const uint64_t host_warm = host_memory_bytes();
  const uint64_t device_warm = device->stats().process.resident_bytes;
  churn(kTotal - kWarm);
  const uint64_t host_end = host_memory_bytes();
  const DeviceStats end = device->stats();

  EXPECT_EQ(wrong, 0u);
  ASSERT_GT(device_warm, 0u);
  EXPECT_LE(host_end, host_warm + kSlackBytes);
  EXPECT_LE(end.process.resident_bytes, device_warm + kSlackBytes);
  std::printf(
      "[ memory   ] %s: host %.1f -> %.1f MB, device process %.1f -> %.1f MB "
      "(after %zu -> %zu registrations)\n",
      std::string(runtime_name(GetParam())).c_str(), host_warm / 1048576.0, host_end / 1048576.0,
      device_warm / 1048576.0, end.process.resident_bytes / 1048576.0, kWarm, kTotal);

  // Forgetting travels without a reply: wait (bounded) until the device served the last one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (device->stats().replay_cache.entries != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  const DeviceStats::ReplayCache replays = device->stats().replay_cache;
  const bool hbg = GetParam() == RuntimeKind::hbg;
  EXPECT_EQ(replays.entries, 0u);
  EXPECT_EQ(replays.bytes, 0u);
  EXPECT_EQ(replays.drops, hbg ? kTotal : 0u);  // one graph per registration, each dropped
  EXPECT_EQ(replays.evictions, 0u);
  EXPECT_EQ(replays.peak_bytes > 0, hbg);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RollingMemoryTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt

// The memfd loader (I6): code is loaded from bytes through an anonymous memfd, resolves its
// entry, fails cleanly without it, and never creates a named file (TMPDIR stays empty, /dev/shm
// is unchanged, no named file is held open).
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "host_allocation_faults.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

using LoaderTest = NoFilesTest;

std::unique_ptr<LoadedCode> load_ok(ByteSpan bytes, const char* entry) {
  auto code = memfd_loader()->load(bytes, entry);
  if (!code.ok()) throw std::runtime_error(code.status().to_string());
  return std::move(code).value();
}

int marker_of(const LoadedCode& code) {
  auto* marker = reinterpret_cast<int (*)()>(code.symbol(kMarkerSymbol));
  return marker == nullptr ? -1 : marker();
}

TEST_F(LoaderTest, ResolvesTheEntryAndOtherSymbols) {
  const auto code = load_ok(fixture_so("fixture_orch_a.so"), "chiprt_orchestration_entry");
  EXPECT_NE(code->entry(), nullptr);
  EXPECT_EQ(marker_of(*code), kOrchAMarker);
  EXPECT_EQ(code->symbol("no_such_symbol"), nullptr);
}

TEST_F(LoaderTest, MissingEntryIsSymbolNotFound) {
  const auto code =
      memfd_loader()->load(fixture_so("fixture_no_entry.so"), "chiprt_orchestration_entry");
  EXPECT_EQ(code.status().code(), StatusCode::symbol_not_found);
  // The same object loads when asked for a symbol it does export.
  const auto by_marker = load_ok(fixture_so("fixture_no_entry.so"), kMarkerSymbol);
  EXPECT_EQ(reinterpret_cast<int (*)()>(by_marker->entry())(), kNoEntryMarker);
}

TEST_F(LoaderTest, BytesThatAreNotASharedObjectAreLoadFailed) {
  const Bytes junk(4096, std::byte{0x5a});
  EXPECT_EQ(memfd_loader()->load(junk, "x").status().code(), StatusCode::load_failed);
  EXPECT_EQ(memfd_loader()->load(Bytes{}, "x").status().code(), StatusCode::load_failed);
}

TEST_F(LoaderTest, ReloadAfterUnloadGetsTheNewCode) {
  for (int round = 0; round < 3; ++round) {
    const auto a = load_ok(fixture_so("fixture_orch_a.so"), "chiprt_orchestration_entry");
    EXPECT_EQ(marker_of(*a), kOrchAMarker);
  }
  auto a = load_ok(fixture_so("fixture_orch_a.so"), "chiprt_orchestration_entry");
  a.reset();
  const auto b = load_ok(fixture_so("fixture_orch_b.so"), "chiprt_orchestration_entry");
  EXPECT_EQ(marker_of(*b), kOrchBMarker);
}

// Host memory running out at any point of a load leaves nothing loaded: an object left open
// past its memfd would be handed to the next load that reuses the fd number (stale code).
TEST_F(LoaderTest, HostAllocationFailureMidLoadLeavesNoStaleCode) {
  if (!host_allocation_faults::supported()) GTEST_SKIP() << "a sanitizer owns operator new";
  const Bytes& orch_a = fixture_so("fixture_orch_a.so");
  for (uint64_t nth = 1;; ++nth) {
    SCOPED_TRACE(nth);
    host_allocation_faults::fail_nth(nth);
    try {
      const auto loaded = memfd_loader()->load(orch_a, kMarkerSymbol);
    } catch (const std::bad_alloc&) {
    }
    if (!host_allocation_faults::disarm()) break;  // past the last allocation
    const auto b = load_ok(fixture_so("fixture_orch_b.so"), "chiprt_orchestration_entry");
    ASSERT_EQ(marker_of(*b), kOrchBMarker) << "a load after a failed one runs its own code";
  }
}

TEST_F(LoaderTest, EachLoadIsItsOwnCopy) {
  const auto first = load_ok(fixture_so("fixture_kernel_a.so"), "chiprt_kernel_entry");
  const auto second = load_ok(fixture_so("fixture_kernel_a.so"), "chiprt_kernel_entry");
  const auto other = load_ok(fixture_so("fixture_kernel_b.so"), "chiprt_kernel_entry");
  EXPECT_NE(first->entry(), second->entry());
  EXPECT_EQ(marker_of(*first), kKernelAMarker);
  EXPECT_EQ(marker_of(*second), kKernelAMarker);
  EXPECT_EQ(marker_of(*other), kKernelBMarker);
}

std::string maps_of(const std::string& process) {
  std::ifstream in("/proc/" + process + "/maps");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
std::string self_maps() {
  return maps_of("self");
}

// The files a process maps that live under `dir`.
std::vector<std::string> mapped_under(const std::string& maps, const std::string& dir) {
  std::vector<std::string> out;
  std::istringstream lines(maps);
  for (std::string line; std::getline(lines, line);) {
    const size_t path = line.find(" /");
    if (path != std::string::npos && line.compare(path + 1, dir.size(), dir) == 0) {
      out.push_back(line.substr(path + 1));
    }
  }
  return out;
}

TEST_F(LoaderTest, LoadsAndRegistrationsCreateNoFiles) {
  CreationWatch shm_watch("/dev/shm");
  const std::set<std::string> named_before = open_named_files();
  {
    const auto code = load_ok(fixture_so("fixture_orch_b.so"), "chiprt_orchestration_entry");
    EXPECT_NE(self_maps().find("/memfd:chiprt-code"), std::string::npos)
        << "loaded code is mapped from an anonymous memfd";
    EXPECT_EQ(open_named_files(), named_before);

    auto device = make_device(Backend::a2a3);
    ASSERT_TRUE(device->start().ok());
    // The device process, where the code of both runtimes' kernels (and tmr orchestrations) is
    // loaded: it too holds no named file (past the standard streams it inherits) and maps code
    // only from memfds, never from TMPDIR or /dev/shm.
    const std::string device_pid = std::to_string(device->stats().process.pid);
    ASSERT_NE(device_pid, "0");
    const std::set<std::string> device_named_before =
        open_named_files(static_cast<pid_t>(device->stats().process.pid), 3);
    EXPECT_EQ(maps_of(device_pid).find("/memfd:chiprt-code"), std::string::npos);
    for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      WorkerOptions options;
      options.runtime = runtime;
      options.code_cache_entries = 0;  // released code is unloaded, not kept (code_cache_test)
      auto worker = make_worker(device, options);
      for (const Bytes& image : distinct_vector_images(3)) {
        ASSERT_TRUE(worker->register_callable(image).ok());
      }
      EXPECT_EQ(open_named_files(), named_before);
      EXPECT_EQ(tmpdir_.created(), std::vector<std::string>{});
      const std::string device_maps = maps_of(device_pid);
      EXPECT_NE(device_maps.find("/memfd:chiprt-code"), std::string::npos)
          << "the device maps its loaded code from an anonymous memfd";
      EXPECT_EQ(mapped_under(device_maps, tmpdir_.path().string()), std::vector<std::string>{});
      EXPECT_EQ(mapped_under(device_maps, "/dev/shm/"), std::vector<std::string>{});
      EXPECT_EQ(open_named_files(static_cast<pid_t>(device->stats().process.pid), 3),
                device_named_before);
    }
    // Unloads travel without a reply: wait (bounded) until the device has served them.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (maps_of(device_pid).find("/memfd:chiprt-code") != std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    EXPECT_EQ(maps_of(device_pid).find("/memfd:chiprt-code"), std::string::npos)
        << "the device unloaded everything";
  }
  EXPECT_EQ(shm_watch.created(), std::vector<std::string>{}) << "nothing created in /dev/shm";
  EXPECT_EQ(self_maps().find("/memfd:chiprt-code"), std::string::npos) << "everything unloaded";
}

}  // namespace
}  // namespace chiprt::test

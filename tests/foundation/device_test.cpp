// The Device interface on every backend: SimChip a2a3 and a5 (capacity, granularity, exact
// per-tag accounting, out of memory as a value, bounded copies) and the null device (every
// call fails cleanly with unavailable).
#include <thread>

#include "device/gm_arena.h"
#include "host_allocation_faults.h"
#include "test_support.h"

namespace chiprt::test {
namespace {

constexpr uint64_t kGranule = 512;

DeviceBuffer allocate_ok(Device& device, uint64_t bytes, MemoryTag tag) {
  Result<DeviceBuffer> buffer = device.allocate(bytes, tag);
  if (!buffer.ok()) throw std::runtime_error(buffer.status().to_string());
  return std::move(buffer).value();
}

class SimChipTest : public testing::TestWithParam<Backend> {
 protected:
  std::shared_ptr<Device> device_ = make_device(GetParam(), 16 * kGranule);
};

TEST_P(SimChipTest, ProfileIsTheNamedChip) {
  const ChipProfile& profile = device_->profile();
  EXPECT_EQ(profile.name, backend_name(GetParam()));
  if (GetParam() == Backend::a2a3) {
    EXPECT_EQ(profile.aic_cores, 24u);
    EXPECT_EQ(profile.aiv_cores, 48u);
    EXPECT_EQ(profile.aicpu_threads, 4u);
  } else {
    EXPECT_EQ(profile.aic_cores, 32u);
    EXPECT_EQ(profile.aiv_cores, 64u);
    EXPECT_EQ(profile.aicpu_threads, 6u);
  }
  EXPECT_EQ(chip_profile("a9").status().code(), StatusCode::not_found);
}

// The device counts host copies where they happen: per tag, uploads and downloads with their
// bytes, a second upload into one allocation as a re-upload, and frees.
TEST_P(SimChipTest, CountsUploadsDownloadsReuploadsAndFrees) {
  const Bytes data(300, std::byte{7});
  Bytes back(100);
  {
    DeviceBuffer callable = allocate_ok(*device_, 1000, MemoryTag::callable);
    DeviceBuffer tensor = allocate_ok(*device_, 10, MemoryTag::tensor);
    const ByteSpan pieces[] = {ByteSpan(data).first(100), ByteSpan(data).subspan(100)};
    ASSERT_TRUE(device_->upload(callable.addr(), pieces).ok());
    ASSERT_TRUE(device_->copy_to_device(tensor.addr(), ByteSpan(data).first(10)).ok());
    ASSERT_TRUE(device_->copy_from_device(back, callable.addr()).ok());
    const DeviceStats once = device_->stats();
    EXPECT_EQ(once.tag(MemoryTag::callable).uploads, 1u) << "a gathered upload is one upload";
    EXPECT_EQ(once.tag(MemoryTag::callable).upload_bytes, 300u);
    EXPECT_EQ(once.tag(MemoryTag::callable).reuploads, 0u);
    EXPECT_EQ(once.tag(MemoryTag::callable).downloads, 1u);
    EXPECT_EQ(once.tag(MemoryTag::callable).download_bytes, 100u);
    EXPECT_EQ(once.tag(MemoryTag::tensor).uploads, 1u);
    EXPECT_EQ(once.tag(MemoryTag::tensor).upload_bytes, 10u);
    ASSERT_TRUE(device_->copy_to_device(callable.addr() + 200, ByteSpan(data).first(50)).ok());
    EXPECT_EQ(device_->stats().tag(MemoryTag::callable).reuploads, 1u);
    EXPECT_EQ(device_->stats().tag(MemoryTag::callable).frees, 0u);
  }
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).frees, 1u);
  EXPECT_EQ(device_->stats().tag(MemoryTag::tensor).frees, 1u);
}

TEST_P(SimChipTest, AllocationsRoundUpToTheGranularity) {
  EXPECT_EQ(device_->allocation_granularity(), kGranule);
  EXPECT_EQ(device_->allocation_size(0), kGranule);
  EXPECT_EQ(device_->allocation_size(1), kGranule);
  EXPECT_EQ(device_->allocation_size(kGranule), kGranule);
  EXPECT_EQ(device_->allocation_size(kGranule + 1), 2 * kGranule);
  const DeviceBuffer buffer = allocate_ok(*device_, 1000, MemoryTag::other);
  EXPECT_EQ(buffer.size(), 2 * kGranule);
  EXPECT_EQ(buffer.addr() % kGranule, 0u);
  EXPECT_EQ(device_->stats().live_bytes, 2 * kGranule);
}

TEST_P(SimChipTest, EveryTagIsCountedExactly) {
  DeviceBuffer callable = allocate_ok(*device_, 1000, MemoryTag::callable);
  DeviceBuffer tensor = allocate_ok(*device_, 512, MemoryTag::tensor);
  DeviceBuffer runtime = allocate_ok(*device_, 1, MemoryTag::runtime);
  DeviceBuffer other = allocate_ok(*device_, 3 * kGranule, MemoryTag::other);
  DeviceStats stats = device_->stats();
  EXPECT_EQ(stats.tag(MemoryTag::callable).live_bytes, 2 * kGranule);
  EXPECT_EQ(stats.tag(MemoryTag::tensor).live_bytes, kGranule);
  EXPECT_EQ(stats.tag(MemoryTag::runtime).live_bytes, kGranule);
  EXPECT_EQ(stats.tag(MemoryTag::other).live_bytes, 3 * kGranule);
  EXPECT_EQ(stats.live_bytes, 7 * kGranule);
  EXPECT_EQ(stats.live_allocations, 4u);

  callable.reset();
  tensor = DeviceBuffer();
  stats = device_->stats();
  EXPECT_EQ(stats.tag(MemoryTag::callable).live_bytes, 0u);
  EXPECT_EQ(stats.tag(MemoryTag::callable).peak_bytes, 2 * kGranule);
  EXPECT_EQ(stats.tag(MemoryTag::callable).total_allocations, 1u);
  EXPECT_EQ(stats.tag(MemoryTag::tensor).live_allocations, 0u);
  EXPECT_EQ(stats.live_bytes, 4 * kGranule);
  EXPECT_EQ(stats.peak_bytes, 7 * kGranule);
  EXPECT_EQ(stats.live_allocations, 2u);
}

TEST_P(SimChipTest, OutOfMemoryIsAValueThatChangesNoAccounting) {
  const DeviceBuffer most = allocate_ok(*device_, 15 * kGranule, MemoryTag::tensor);
  const DeviceStats before = device_->stats();
  const Result<DeviceBuffer> too_big = device_->allocate(2 * kGranule, MemoryTag::callable);
  EXPECT_EQ(too_big.status().code(), StatusCode::out_of_device_memory);
  const DeviceStats after = device_->stats();
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_EQ(after.live_allocations, before.live_allocations);
  EXPECT_EQ(after.tag(MemoryTag::callable).total_allocations, 0u);
  EXPECT_EQ(after.failed_allocations, before.failed_allocations + 1);
  EXPECT_TRUE(device_->allocate(kGranule, MemoryTag::callable).ok()) << "the last granule fits";
}

TEST_P(SimChipTest, FreedBlocksAreReusedFirstFitAndCoalesce) {
  DeviceBuffer a = allocate_ok(*device_, kGranule, MemoryTag::other);
  DeviceBuffer b = allocate_ok(*device_, kGranule, MemoryTag::other);
  DeviceBuffer c = allocate_ok(*device_, kGranule, MemoryTag::other);
  EXPECT_EQ(b.addr(), a.addr() + kGranule);
  const DeviceAddr b_addr = b.addr();
  b.reset();
  EXPECT_EQ(allocate_ok(*device_, kGranule, MemoryTag::other).addr(), b_addr);
  a.reset();
  c.reset();
  // With everything freed, the neighbours coalesced back into one block of full capacity.
  EXPECT_EQ(allocate_ok(*device_, 16 * kGranule, MemoryTag::other).size(), 16 * kGranule);
}

// Host memory running out inside the arena: a failed allocate changes nothing, and a release
// needs no host memory at all (it cannot fail: it runs in destructors).
TEST_P(SimChipTest, HostAllocationFailureLeavesTheArenaWhole) {
  if (!host_allocation_faults::supported()) GTEST_SKIP() << "a sanitizer owns operator new";
  DeviceBuffer a = allocate_ok(*device_, kGranule, MemoryTag::other);
  DeviceBuffer b = allocate_ok(*device_, kGranule, MemoryTag::other);
  DeviceBuffer c = allocate_ok(*device_, kGranule, MemoryTag::other);
  const DeviceAddr b_addr = b.addr();

  host_allocation_faults::fail_nth(1);
  b.reset();  // between two live blocks: it becomes a free block of its own
  EXPECT_FALSE(host_allocation_faults::disarm()) << "a release allocated host memory";
  EXPECT_EQ(device_->stats().live_bytes, 2 * kGranule);

  const DeviceStats before = device_->stats();
  for (uint64_t nth = 1;; ++nth) {
    bool threw = false;
    Result<DeviceBuffer> rest = Status(StatusCode::internal, "not allocated");
    host_allocation_faults::fail_nth(nth);
    try {
      rest = device_->allocate(12 * kGranule, MemoryTag::tensor);  // leaves one granule free
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    const bool failed = host_allocation_faults::disarm();
    ASSERT_EQ(threw, failed) << "allocation " << nth;
    if (!failed) {
      ASSERT_TRUE(rest.ok()) << rest.status().to_string();
      EXPECT_EQ(rest->addr(), c.addr() + kGranule) << "the free tail";
      EXPECT_GT(nth, 1u) << "the arena allocated no host memory to split the tail";
      break;
    }
    const DeviceStats after = device_->stats();
    EXPECT_EQ(after.live_bytes, before.live_bytes) << "allocation " << nth;
    EXPECT_EQ(after.live_allocations, before.live_allocations) << "allocation " << nth;
  }
  EXPECT_EQ(allocate_ok(*device_, kGranule, MemoryTag::other).addr(), b_addr) << "b's block";
  a.reset();
  c.reset();
}

TEST_P(SimChipTest, CopiesStayInsideOneLiveAllocation) {
  const DeviceBuffer buffer = allocate_ok(*device_, kGranule, MemoryTag::tensor);
  Bytes pattern(kGranule);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = std::byte(i * 7);
  ASSERT_TRUE(device_->copy_to_device(buffer.addr(), pattern).ok());
  EXPECT_EQ(read_device(*device_, buffer.addr(), kGranule), pattern);
  EXPECT_EQ(device_->host_pointer(buffer.addr(), kGranule)[5], pattern[5]);

  const Bytes one_more(kGranule + 1);
  EXPECT_EQ(device_->copy_to_device(buffer.addr(), one_more).code(), StatusCode::invalid_argument);
  Bytes sink(2);
  EXPECT_EQ(device_->copy_from_device(sink, buffer.addr() + kGranule - 1).code(),
            StatusCode::invalid_argument);
  EXPECT_EQ(device_->host_pointer(buffer.addr() + kGranule, 1), nullptr);
  EXPECT_EQ(device_->copy_to_device(0x1000, pattern).code(), StatusCode::invalid_argument);

  DeviceBuffer released = allocate_ok(*device_, kGranule, MemoryTag::tensor);
  const DeviceAddr released_addr = released.addr();
  released.reset();
  EXPECT_EQ(device_->copy_to_device(released_addr, Bytes(1)).code(), StatusCode::invalid_argument);
}

TEST_P(SimChipTest, MovedBuffersFreeOnce) {
  DeviceBuffer original = allocate_ok(*device_, kGranule, MemoryTag::tensor);
  DeviceBuffer moved = std::move(original);
  EXPECT_FALSE(original);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(device_->stats().live_allocations, 1u);
  moved = allocate_ok(*device_, 2 * kGranule, MemoryTag::tensor);
  EXPECT_EQ(device_->stats().live_bytes, 2 * kGranule);
  moved.reset();
  moved.reset();
  EXPECT_EQ(device_->stats().live_bytes, 0u);
  EXPECT_EQ(device_->stats().live_allocations, 0u);
  EXPECT_EQ(device_->stats().tag(MemoryTag::tensor).frees, 2u);
  EXPECT_EQ(device_->stats().bad_frees, 0u);
}

// The arena ignores a release of an address it does not know (a double free, or an address it
// never gave out), but counts it where the device's figures are read.
TEST(GmArenaTest, ReleasesOfUnknownOrReleasedAddressesAreCounted) {
  std::vector<std::byte> memory(4 * kGranule);
  auto arena = device::GmArena::create(memory.data(), memory.size());
  ASSERT_TRUE(arena.ok()) << arena.status().to_string();
  const Result<DeviceAddr> addr = (*arena)->allocate(kGranule, MemoryTag::tensor);
  ASSERT_TRUE(addr.ok());
  (*arena)->release(*addr);
  EXPECT_EQ((*arena)->stats().bad_frees, 0u);
  EXPECT_EQ((*arena)->stats().tag(MemoryTag::tensor).frees, 1u);
  (*arena)->release(*addr);  // released already
  EXPECT_EQ((*arena)->stats().bad_frees, 1u);
  (*arena)->release(device::GmArena::kDeviceBase + 3 * kGranule);  // never allocated
  (*arena)->release(0);                                            // not a device address
  const DeviceStats stats = (*arena)->stats();
  EXPECT_EQ(stats.bad_frees, 3u);
  EXPECT_EQ(stats.tag(MemoryTag::tensor).frees, 1u) << "only the real release freed";
  EXPECT_EQ(stats.live_allocations, 0u);
  // The arena is whole: its full capacity is one allocation again.
  EXPECT_TRUE((*arena)->allocate(4 * kGranule, MemoryTag::tensor).ok());
}

TEST_P(SimChipTest, ConcurrentAllocationsBalance) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        Result<DeviceBuffer> buffer = device_->allocate(kGranule, MemoryTag::tensor);
        if (buffer.ok()) buffer->reset();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const DeviceStats stats = device_->stats();
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.tag(MemoryTag::tensor).total_allocations + stats.failed_allocations, 2000u);
  EXPECT_EQ(stats.failed_allocations, 0u) << "4 granules live at most, 16 available";
}

INSTANTIATE_TEST_SUITE_P(SimChips, SimChipTest, testing::ValuesIn(kSimChips), backend_param_name);

TEST(NullDeviceInterfaceTest, EveryCallFailsCleanly) {
  const auto device = create_null_device();
  EXPECT_EQ(device->allocate(kGranule, MemoryTag::callable).status().code(),
            StatusCode::unavailable);
  EXPECT_EQ(device->copy_to_device(0, Bytes(4)).code(), StatusCode::unavailable);
  Bytes sink(4);
  EXPECT_EQ(device->copy_from_device(sink, 0).code(), StatusCode::unavailable);
  EXPECT_EQ(device->host_pointer(0, 4), nullptr);
  const DeviceStats stats = device->stats();
  EXPECT_EQ(stats.capacity_bytes, 0u);
  EXPECT_EQ(stats.live_bytes, 0u);
  EXPECT_EQ(stats.live_allocations, 0u);
}

}  // namespace
}  // namespace chiprt::test

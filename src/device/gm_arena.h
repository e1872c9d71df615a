// GmArena: the bookkeeping of the simulated chip's global memory, kept by the host. A
// fixed-capacity range (the host's mapping of device memory, borrowed) with a first-fit
// allocator, exact per-tag accounting, and lookups from device address to host pointer.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "chiprt/device.h"
#include "protocol.h"

namespace chiprt::device {

class GmArena {
 public:
  static constexpr uint64_t kGranularity = protocol::kAllocationGranularity;
  // Device addresses start here, so that a device address is never mistaken for a host one.
  static constexpr DeviceAddr kDeviceBase = protocol::kDeviceBase;

  // Over `capacity_bytes` of memory at `host_base` (borrowed, outlives the arena).
  static Result<std::unique_ptr<GmArena>> create(std::byte* host_base, uint64_t capacity_bytes);
  GmArena(const GmArena&) = delete;
  GmArena& operator=(const GmArena&) = delete;

  // Returns the device address of a new block of `size` bytes (a multiple of kGranularity).
  Result<DeviceAddr> allocate(uint64_t size, MemoryTag tag);
  void release(DeviceAddr addr) noexcept;
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes);
  // host_pointer() of a host copy into / out of one live allocation, counted for its tag.
  std::byte* upload_target(DeviceAddr addr, uint64_t bytes);
  const std::byte* download_source(DeviceAddr addr, uint64_t bytes);
  DeviceStats stats() const;

 private:
  GmArena(std::byte* host_base, uint64_t capacity);
  struct Block {
    uint64_t size;
    MemoryTag tag;
    uint64_t uploads = 0;
  };
  // The live block holding [offset, offset + bytes), or nullptr. Caller holds mutex_.
  Block* find_locked(DeviceAddr addr, uint64_t bytes);
  std::byte* const host_base_;
  const uint64_t capacity_;
  mutable std::mutex mutex_;
  // Free and live blocks share one node type, so a block moves between the two without a host
  // allocation: release() allocates nothing, and allocate() allocates before it changes anything.
  using Blocks = std::map<uint64_t, Block>;  // offset -> block
  Blocks free_blocks_;                       // coalesced; their tags mean nothing
  Blocks live_blocks_;
  DeviceStats stats_;
};

}  // namespace chiprt::device

// GmArena: the simulated chip's global memory. A fixed-capacity range of host address space
// with a first-fit allocator, exact per-tag accounting, and lookups from device address to host
// pointer. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>

#include "chiprt/device.h"

namespace chiprt::device {

class GmArena {
 public:
  static constexpr uint64_t kGranularity = 512;
  // Device addresses start here, so that a device address is never mistaken for a host one.
  static constexpr DeviceAddr kDeviceBase = 0x100000000000ull;

  static Result<std::unique_ptr<GmArena>> create(uint64_t capacity_bytes);
  ~GmArena();
  GmArena(const GmArena&) = delete;
  GmArena& operator=(const GmArena&) = delete;

  // Returns the device address of a new block of `size` bytes (a multiple of kGranularity).
  Result<DeviceAddr> allocate(uint64_t size, MemoryTag tag);
  void release(DeviceAddr addr) noexcept;
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes);
  DeviceStats stats() const;

 private:
  GmArena(std::byte* host_base, uint64_t capacity);
  struct Block {
    uint64_t size;
    MemoryTag tag;
  };
  std::byte* const host_base_;
  const uint64_t capacity_;
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> free_blocks_;  // offset -> size, coalesced
  std::map<uint64_t, Block> live_blocks_;     // offset -> block
  DeviceStats stats_;
};

}  // namespace chiprt::device

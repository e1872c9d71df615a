// SimChip: the in-process simulated chip. Device memory is a GmArena with a hard capacity;
// copies check that they stay inside one live allocation.
#pragma once

#include <memory>

#include "chiprt/device.h"
#include "gm_arena.h"

namespace chiprt::device {

class SimChip final : public Device {
 public:
  SimChip(ChipProfile profile, std::unique_ptr<GmArena> arena)
      : profile_(std::move(profile)), arena_(std::move(arena)) {}

  const ChipProfile& profile() const override { return profile_; }
  Result<DeviceBuffer> allocate(uint64_t bytes, MemoryTag tag) override;
  Status copy_to_device(DeviceAddr dst, ByteSpan src) override;
  Status copy_from_device(MutableByteSpan dst, DeviceAddr src) const override;
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes) override {
    return arena_->host_pointer(addr, bytes);
  }
  DeviceStats stats() const override { return arena_->stats(); }
  uint64_t allocation_granularity() const override { return GmArena::kGranularity; }

 protected:
  void release(DeviceAddr addr) noexcept override { arena_->release(addr); }

 private:
  ChipProfile profile_;
  std::unique_ptr<GmArena> arena_;
};

}  // namespace chiprt::device

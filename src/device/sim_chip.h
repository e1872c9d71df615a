// SimChip: the simulated chip, as the host sees it. Device memory is a memfd of the chip's
// capacity mapped by the host and by the chip's device process; the host keeps the allocation
// bookkeeping (GmArena). Code loads and launches go to the device process (DeviceProcess),
// started lazily by start() or the first load or launch, and replaced by reset().
#pragma once

#include <memory>
#include <mutex>

#include "chiprt/device.h"
#include "device_process.h"
#include "gm_arena.h"
#include "shared_memory.h"

namespace chiprt::device {

class SimChip final : public Device, public std::enable_shared_from_this<SimChip> {
 public:
  static Result<std::shared_ptr<SimChip>> create(ChipProfile profile, uint64_t capacity,
                                                 SimChipOptions options);
  ~SimChip() override;

  const ChipProfile& profile() const override { return profile_; }
  Result<DeviceBuffer> allocate(uint64_t bytes, MemoryTag tag) override;
  Status copy_to_device(DeviceAddr dst, ByteSpan src) override;
  Status copy_from_device(MutableByteSpan dst, DeviceAddr src) const override;
  Status upload(DeviceAddr dst, std::span<const ByteSpan> pieces) override;
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes) override {
    return arena_->host_pointer(addr, bytes);
  }
  DeviceStats stats() const override;
  uint64_t allocation_granularity() const override { return GmArena::kGranularity; }

  using Device::code_loader;
  std::shared_ptr<CodeLoader> code_loader(const CodeCacheBounds& cache) override;
  Result<LaunchResult> launch(const OrchestrationLaunch& launch, const Deadlines& limits) override;
  Result<LaunchResult> launch(const GraphLaunch& launch, const Deadlines& limits) override;
  void forget_graph(uint32_t graph_id) noexcept override;
  Status start() override;
  Status health() const override;
  Status reset() override;
  uint64_t epoch() const override;

  // The running device process (started if needed); for the loader and tests.
  Result<std::shared_ptr<DeviceProcess>> process();
  // The device address of bytes inside the host's mapping of device memory, or 0.
  DeviceAddr address_of(ByteSpan bytes) const;

 protected:
  void release(DeviceAddr addr) noexcept override { arena_->release(addr); }

 private:
  SimChip(ChipProfile profile, SimChipOptions options)
      : profile_(std::move(profile)), options_(options) {}
  Result<std::shared_ptr<DeviceProcess>> process_locked();

  const ChipProfile profile_;
  const SimChipOptions options_;
  std::unique_ptr<SharedMemory> memory_;
  std::unique_ptr<GmArena> arena_;
  mutable std::mutex mutex_;
  std::shared_ptr<DeviceProcess> process_;  // shared: a call in flight keeps its process
  uint64_t epoch_ = 0;
  uint64_t losses_ = 0;  // lost processes replaced by reset()
  // Code loads counted by device processes that have ended (each also unloaded them all).
  uint64_t ended_code_loads_ = 0;
};

}  // namespace chiprt::device

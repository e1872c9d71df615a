// Test doubles that throw, or hold, at the steps a registration takes, to show what a failure
// at each step leaves behind.
//
// FaultyDevice wraps a device and forwards everything to it; armed, the next callable-tagged
// allocation, upload or read throws (once). A read of callable memory can also be held until
// the test lets it go. While a read fault or hold is armed, host_pointer() hides callable
// allocations, so that readers of callable bytes (the dedup comparison, code loading) copy
// them through copy_from_device, where the fault sits. FaultyLoader wraps a loader whose Nth
// load() from now throws. Both are thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "chiprt/code_loader.h"
#include "chiprt/device.h"

namespace chiprt::test {

enum class DeviceFault { none, allocate, upload, read };
std::string_view device_fault_name(DeviceFault fault);  // "allocate", ...

class FaultyDevice final : public Device {
 public:
  explicit FaultyDevice(std::shared_ptr<Device> inner) : inner_(std::move(inner)) {}
  ~FaultyDevice() override;

  // The next callable-tagged call of that kind throws std::runtime_error naming the fault.
  void arm(DeviceFault fault);
  DeviceFault armed() const;
  // The next read of callable memory waits, once it has begun, until release_held_read().
  void hold_next_callable_read();
  void wait_until_read_held();
  void release_held_read();

  const ChipProfile& profile() const override { return inner_->profile(); }
  Result<DeviceBuffer> allocate(uint64_t bytes, MemoryTag tag) override;
  Status copy_to_device(DeviceAddr dst, ByteSpan src) override;
  Status copy_from_device(MutableByteSpan dst, DeviceAddr src) const override;
  Status upload(DeviceAddr dst, std::span<const ByteSpan> pieces) override;
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes) override;
  DeviceStats stats() const override { return inner_->stats(); }
  uint64_t allocation_granularity() const override { return inner_->allocation_granularity(); }
  using Device::code_loader;
  std::shared_ptr<CodeLoader> code_loader(const CodeCacheBounds& cache) override {
    return inner_->code_loader(cache);
  }
  Result<LaunchResult> launch(const OrchestrationLaunch& launch, const Deadlines& limits) override {
    return inner_->launch(launch, limits);
  }
  Result<LaunchResult> launch(const GraphLaunch& launch, const Deadlines& limits) override {
    return inner_->launch(launch, limits);
  }
  Status start() override { return inner_->start(); }
  Status health() const override { return inner_->health(); }
  Status reset() override { return inner_->reset(); }
  uint64_t epoch() const override { return inner_->epoch(); }

 private:
  void release(DeviceAddr addr) noexcept override;
  bool in_callable_locked(DeviceAddr addr) const;
  // Throws if `fault` is armed (disarming it).
  void trip_locked(DeviceFault fault) const;

  std::shared_ptr<Device> inner_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<DeviceAddr, DeviceBuffer> allocations_;  // the inner device's, by address
  mutable DeviceFault armed_ = DeviceFault::none;
  mutable bool hold_armed_ = false;
  mutable bool read_held_ = false;
  bool read_released_ = false;
};

class FaultyLoader final : public CodeLoader {
 public:
  explicit FaultyLoader(std::shared_ptr<CodeLoader> inner) : inner_(std::move(inner)) {}
  // The `nth` (1-based) load() from now throws std::runtime_error; 0 disarms.
  void throw_on_load(uint64_t nth);
  bool armed() const;
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override;

 private:
  std::shared_ptr<CodeLoader> inner_;
  mutable std::mutex mutex_;
  uint64_t countdown_ = 0;
};

}  // namespace chiprt::test

// RunMemory: device memory as one launch on the device sees it. Allocations are requested from
// the host (which owns the bookkeeping) and attributed to the run; reads and writes go straight
// to this process's mapping. Implements Device so the runtimes' tensor code runs unchanged.
#pragma once

#include <fmt/format.h>

#include <cstring>

#include "chiprt/device.h"
#include "device/protocol.h"
#include "device_runtime.h"

namespace chiprt::device_process {

class RunMemory final : public Device {
 public:
  RunMemory(DeviceRuntime& runtime, uint64_t run) : runtime_(runtime), run_(run) {}

  const ChipProfile& profile() const override { return runtime_.profile(); }
  Result<DeviceBuffer> allocate(uint64_t bytes, MemoryTag tag) override {
    const uint64_t size = allocation_size(bytes);
    if (size == 0) return Status(StatusCode::out_of_device_memory, "request too large");
    CHIPRT_ASSIGN_OR_RETURN(DeviceAddr addr, runtime_.allocate(run_, size, tag));
    return make_buffer(addr, size, tag);
  }
  Status copy_to_device(DeviceAddr dst, ByteSpan src) override {
    std::byte* target = runtime_.view(dst, src.size());
    if (target == nullptr) return outside(dst, src.size());
    if (!src.empty()) std::memcpy(target, src.data(), src.size());
    return Status::Ok();
  }
  Status copy_from_device(MutableByteSpan dst, DeviceAddr src) const override {
    const std::byte* source = runtime_.view(src, dst.size());
    if (source == nullptr) return outside(src, dst.size());
    if (!dst.empty()) std::memcpy(dst.data(), source, dst.size());
    return Status::Ok();
  }
  std::byte* host_pointer(DeviceAddr addr, uint64_t bytes) override {
    return runtime_.view(addr, bytes);
  }
  DeviceStats stats() const override { return {}; }
  uint64_t allocation_granularity() const override {
    return device::protocol::kAllocationGranularity;
  }

 protected:
  void release(DeviceAddr addr) noexcept override { runtime_.free(run_, addr); }

 private:
  static Status outside(DeviceAddr addr, uint64_t bytes) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("{} bytes at 0x{:x} are outside the device's memory", bytes, addr));
  }
  DeviceRuntime& runtime_;
  const uint64_t run_;
};

}  // namespace chiprt::device_process

// NullDevice: fails every call cleanly. Proves that callers handle a device that can do nothing.
#include "chiprt/device.h"

namespace chiprt {
namespace {

class NullDevice final : public Device {
 public:
  const ChipProfile& profile() const override { return profile_; }
  Result<DeviceBuffer> allocate(uint64_t, MemoryTag) override { return unavailable(); }
  Status copy_to_device(DeviceAddr, ByteSpan) override { return unavailable(); }
  Status copy_from_device(MutableByteSpan, DeviceAddr) const override { return unavailable(); }
  std::byte* host_pointer(DeviceAddr, uint64_t) override { return nullptr; }
  DeviceStats stats() const override { return {}; }
  uint64_t allocation_granularity() const override { return 1; }

 protected:
  void release(DeviceAddr) noexcept override {}

 private:
  static Status unavailable() {
    return Status(StatusCode::unavailable, "the null device has no memory");
  }
  ChipProfile profile_{"null", 0, 0, 0, 0, 0};
};

}  // namespace

std::shared_ptr<Device> create_null_device() {
  return std::make_shared<NullDevice>();
}

}  // namespace chiprt

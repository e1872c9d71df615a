#include "sim_chip.h"

#include <fmt/format.h>

#include <cstring>

namespace chiprt::device {

Result<DeviceBuffer> SimChip::allocate(uint64_t bytes, MemoryTag tag) {
  const uint64_t size = allocation_size(bytes);
  if (size == 0) {
    return Status(StatusCode::out_of_device_memory,
                  fmt::format("{} bytes can never be allocated", bytes));
  }
  CHIPRT_ASSIGN_OR_RETURN(DeviceAddr addr, arena_->allocate(size, tag));
  return make_buffer(addr, size, tag);
}

Status SimChip::copy_to_device(DeviceAddr dst, ByteSpan src) {
  std::byte* target = arena_->host_pointer(dst, src.size());
  if (target == nullptr) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("copy of {} bytes to 0x{:x} leaves every live allocation", src.size(), dst));
  }
  if (!src.empty()) std::memcpy(target, src.data(), src.size());
  return Status::Ok();
}

Status SimChip::copy_from_device(MutableByteSpan dst, DeviceAddr src) const {
  const std::byte* source = arena_->host_pointer(src, dst.size());
  if (source == nullptr) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("copy of {} bytes from 0x{:x} leaves every live allocation", dst.size(), src));
  }
  if (!dst.empty()) std::memcpy(dst.data(), source, dst.size());
  return Status::Ok();
}

}  // namespace chiprt::device

namespace chiprt {

std::shared_ptr<Device> create_sim_chip(const ChipProfile& profile, uint64_t capacity_bytes) {
  auto arena = device::GmArena::create(align_up(capacity_bytes, device::GmArena::kGranularity));
  if (!arena.ok()) return nullptr;
  return std::make_shared<device::SimChip>(profile, std::move(arena).value());
}

}  // namespace chiprt

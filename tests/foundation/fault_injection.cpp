#include "fault_injection.h"

#include <fmt/format.h>

#include <stdexcept>

namespace chiprt::test {

std::string_view device_fault_name(DeviceFault fault) {
  constexpr std::string_view kNames[] = {"none", "allocate", "upload", "read"};
  return kNames[static_cast<size_t>(fault)];
}

FaultyDevice::~FaultyDevice() {
  // Whatever is still allocated goes back to the inner device before it may go.
  std::map<DeviceAddr, DeviceBuffer> doomed;
  std::lock_guard lock(mutex_);
  doomed.swap(allocations_);
}

void FaultyDevice::arm(DeviceFault fault) {
  std::lock_guard lock(mutex_);
  armed_ = fault;
}

DeviceFault FaultyDevice::armed() const {
  std::lock_guard lock(mutex_);
  return armed_;
}

void FaultyDevice::hold_next_callable_read() {
  std::lock_guard lock(mutex_);
  hold_armed_ = true;
  read_held_ = false;
  read_released_ = false;
}

void FaultyDevice::wait_until_read_held() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return read_held_; });
}

void FaultyDevice::release_held_read() {
  std::lock_guard lock(mutex_);
  read_released_ = true;
  changed_.notify_all();
}

void FaultyDevice::trip_locked(DeviceFault fault) const {
  if (armed_ != fault) return;
  armed_ = DeviceFault::none;
  throw std::runtime_error(fmt::format("injected {} fault", device_fault_name(fault)));
}

bool FaultyDevice::in_callable_locked(DeviceAddr addr) const {
  auto it = allocations_.upper_bound(addr);
  if (it == allocations_.begin()) return false;
  --it;
  return addr < it->first + it->second.size() && it->second.tag() == MemoryTag::callable;
}

Result<DeviceBuffer> FaultyDevice::allocate(uint64_t bytes, MemoryTag tag) {
  std::lock_guard lock(mutex_);
  if (tag == MemoryTag::callable) trip_locked(DeviceFault::allocate);
  CHIPRT_ASSIGN_OR_RETURN(DeviceBuffer inner, inner_->allocate(bytes, tag));
  const DeviceAddr addr = inner.addr();
  const uint64_t size = inner.size();
  allocations_.emplace(addr, std::move(inner));
  return make_buffer(addr, size, tag);
}

void FaultyDevice::release(DeviceAddr addr) noexcept {
  DeviceBuffer doomed;  // freed on the inner device once the lock is released
  std::lock_guard lock(mutex_);
  auto it = allocations_.find(addr);
  if (it == allocations_.end()) return;
  doomed = std::move(it->second);
  allocations_.erase(it);
}

Status FaultyDevice::copy_to_device(DeviceAddr dst, ByteSpan src) {
  {
    std::lock_guard lock(mutex_);
    if (in_callable_locked(dst)) trip_locked(DeviceFault::upload);
  }
  return inner_->copy_to_device(dst, src);
}

Status FaultyDevice::upload(DeviceAddr dst, std::span<const ByteSpan> pieces) {
  {
    std::lock_guard lock(mutex_);
    if (in_callable_locked(dst)) trip_locked(DeviceFault::upload);
  }
  return inner_->upload(dst, pieces);
}

Status FaultyDevice::copy_from_device(MutableByteSpan dst, DeviceAddr src) const {
  {
    std::unique_lock lock(mutex_);
    if (in_callable_locked(src)) {
      trip_locked(DeviceFault::read);
      if (hold_armed_) {
        hold_armed_ = false;
        read_held_ = true;
        changed_.notify_all();
        changed_.wait(lock, [&] { return read_released_; });
      }
    }
  }
  return inner_->copy_from_device(dst, src);
}

std::byte* FaultyDevice::host_pointer(DeviceAddr addr, uint64_t bytes) {
  {
    std::lock_guard lock(mutex_);
    const bool hidden = armed_ == DeviceFault::read || hold_armed_;
    if (hidden && in_callable_locked(addr)) return nullptr;
  }
  return inner_->host_pointer(addr, bytes);
}

void FaultyLoader::throw_on_load(uint64_t nth) {
  std::lock_guard lock(mutex_);
  countdown_ = nth;
}

bool FaultyLoader::armed() const {
  std::lock_guard lock(mutex_);
  return countdown_ != 0;
}

Result<std::unique_ptr<LoadedCode>> FaultyLoader::load(ByteSpan shared_object,
                                                       const char* entry_symbol) {
  {
    std::lock_guard lock(mutex_);
    if (countdown_ != 0 && --countdown_ == 0) {
      throw std::runtime_error("injected load fault");
    }
  }
  return inner_->load(shared_object, entry_symbol);
}

}  // namespace chiprt::test

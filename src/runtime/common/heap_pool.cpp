#include "runtime/common/heap_pool.h"

#include <algorithm>

namespace chiprt::runtime {

uint64_t worker_heap_bytes(const Device& device, const WorkerOptions& options) {
  if (options.heap_bytes != 0) return options.heap_bytes;
  const uint64_t profile = device.profile().heap_bytes ? device.profile().heap_bytes : 64ull << 20;
  const uint64_t capacity = device.stats().capacity_bytes;
  return capacity == 0 ? profile : std::min(profile, capacity / 4);
}

HeapPool::Lease& HeapPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = std::exchange(other.pool_, nullptr);
    heap_ = std::move(other.heap_);
  }
  return *this;
}

void HeapPool::Lease::reset() noexcept {
  if (pool_ != nullptr) std::exchange(pool_, nullptr)->give_back(std::move(heap_));
}

Result<HeapPool::Lease> HeapPool::acquire() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        DeviceBuffer heap = std::move(free_.back());
        free_.pop_back();
        ++lent_;
        return Lease(this, std::move(heap));
      }
    }
    // Allocated outside the lock: other runs return and take heaps meanwhile.
    auto heap = device_.allocate(heap_bytes_, MemoryTag::runtime);
    std::unique_lock lock(mutex_);
    if (heap.ok()) {
      free_.reserve(heaps_ + 1);  // so that giving it back never allocates
      ++heaps_;
      ++lent_;
      reserved_bytes_ += heap->size();
      return Lease(this, std::move(heap).value());
    }
    if (heap.status().code() != StatusCode::out_of_device_memory || lent_ == 0) {
      return std::move(heap).status().annotate("the intermediate heap");
    }
    // The device is full, but a heap is lent: wait for it rather than fail this run.
    returned_.wait(lock, [&] { return !free_.empty() || lent_ == 0; });
  }
}

void HeapPool::give_back(DeviceBuffer heap) noexcept {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(heap));  // capacity reserved by acquire()
    --lent_;
  }
  returned_.notify_one();
}

size_t HeapPool::release_all() noexcept {
  std::vector<DeviceBuffer> doomed;
  {
    std::lock_guard lock(mutex_);
    doomed.swap(free_);
    for (const DeviceBuffer& heap : doomed) {
      --heaps_;
      reserved_bytes_ -= heap.size();
    }
  }
  return doomed.size();  // freed here, outside the lock
}

uint64_t HeapPool::reserved_bytes() const {
  std::lock_guard lock(mutex_);
  return reserved_bytes_;
}

size_t HeapPool::heaps() const {
  std::lock_guard lock(mutex_);
  return heaps_;
}

}  // namespace chiprt::runtime

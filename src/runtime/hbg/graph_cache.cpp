#include "runtime/hbg/graph_cache.h"

#include <algorithm>

namespace chiprt::runtime {

std::shared_ptr<const DeviceGraph> GraphCache::find_locked(uint64_t generation,
                                                           const RunArgs& args) {
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if ((*it)->generation == generation && (*it)->key.matches(args)) {
      lru_.splice(lru_.begin(), lru_, it);
      return lru_.front();
    }
  }
  return nullptr;
}

std::shared_ptr<const DeviceGraph> GraphCache::find(uint64_t generation, const RunArgs& args) {
  std::lock_guard lock(mutex_);
  return find_locked(generation, args);
}

std::shared_ptr<const DeviceGraph> GraphCache::insert(std::shared_ptr<const DeviceGraph> graph,
                                                      const RunArgs& args) {
  std::list<std::shared_ptr<const DeviceGraph>> evicted;  // released outside the lock
  std::lock_guard lock(mutex_);
  if (auto existing = find_locked(graph->generation, args)) return existing;
  lru_.push_front(graph);
  use_.device_bytes += graph->device_bytes();
  use_.host_bytes += host_bytes_of(*graph);
  while (!lru_.empty() && (lru_.size() > capacity_ || use_.device_bytes > capacity_bytes_ ||
                           use_.host_bytes > capacity_host_bytes_)) {
    use_.device_bytes -= lru_.back()->device_bytes();
    use_.host_bytes -= host_bytes_of(*lru_.back());
    ++use_.evictions;
    evicted.splice(evicted.begin(), lru_, std::prev(lru_.end()));
  }
  use_.entries = lru_.size();
  use_.peak_entries = std::max(use_.peak_entries, use_.entries);
  use_.peak_device_bytes = std::max(use_.peak_device_bytes, use_.device_bytes);
  use_.peak_host_bytes = std::max(use_.peak_host_bytes, use_.host_bytes);
  return graph;
}

void GraphCache::forget(uint64_t generation) {
  std::list<std::shared_ptr<const DeviceGraph>> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if ((*it)->generation == generation) {
      use_.device_bytes -= (*it)->device_bytes();
      use_.host_bytes -= host_bytes_of(**it);
      dropped.splice(dropped.begin(), lru_, it);
    }
    it = next;
  }
  use_.entries = lru_.size();
}

GraphCache::Use GraphCache::use() const {
  std::lock_guard lock(mutex_);
  return use_;
}

uint64_t GraphCache::device_bytes() const {
  std::lock_guard lock(mutex_);
  return use_.device_bytes;
}

}  // namespace chiprt::runtime

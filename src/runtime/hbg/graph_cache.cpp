#include "runtime/hbg/graph_cache.h"

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
  bytes_ += graph->device_bytes();
  while (!lru_.empty() && (lru_.size() > capacity_ || bytes_ > capacity_bytes_)) {
    bytes_ -= lru_.back()->device_bytes();
    ++evictions_;
    evicted.splice(evicted.begin(), lru_, std::prev(lru_.end()));
  }
  return graph;
}

void GraphCache::forget(uint64_t generation) {
  std::list<std::shared_ptr<const DeviceGraph>> dropped;
  std::lock_guard lock(mutex_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if ((*it)->generation == generation) {
      bytes_ -= (*it)->device_bytes();
      dropped.splice(dropped.begin(), lru_, it);
    }
    it = next;
  }
}

size_t GraphCache::entries() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

uint64_t GraphCache::device_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

uint64_t GraphCache::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

}  // namespace chiprt::runtime

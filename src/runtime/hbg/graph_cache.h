// GraphCache: recorded graphs of one worker, keyed by (callable buffer generation, what the
// orchestration read: tensor argument shapes and dtypes, scalar values). LRU with a bound on
// the number of graphs; forget(generation) drops every graph of a released callable. Entries
// are shared, so a replay in progress keeps its graph alive after eviction.
//
// Thread-safe: one mutex guards the list.
#pragma once

#include <list>
#include <memory>
#include <mutex>

#include "runtime/hbg/device_graph.h"

namespace chiprt::runtime {

class GraphCache {
 public:
  explicit GraphCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The graph recorded for `generation` whose reads match `args`, marked most recently used.
  std::shared_ptr<const DeviceGraph> find(uint64_t generation, const RunArgs& args);
  // Adds a graph (unless an equal one raced in first; then returns that one), evicting the
  // least recently used beyond the capacity.
  std::shared_ptr<const DeviceGraph> insert(std::shared_ptr<const DeviceGraph> graph,
                                            const RunArgs& args);
  void forget(uint64_t generation);

  size_t entries() const;
  uint64_t device_bytes() const;
  size_t capacity() const { return capacity_; }

 private:
  std::shared_ptr<const DeviceGraph> find_locked(uint64_t generation, const RunArgs& args);
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::list<std::shared_ptr<const DeviceGraph>> lru_;  // most recent first
};

}  // namespace chiprt::runtime

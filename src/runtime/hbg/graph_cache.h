// GraphCache: recorded graphs of one worker, keyed by (callable buffer generation, what the
// orchestration read: tensor argument shapes and dtypes, scalar values). LRU with two bounds:
// the number of graphs and the device bytes they hold (their allocations); inserting evicts
// least recently used graphs until both hold, so a graph larger than the byte bound is not
// kept at all. forget(generation) drops every graph of a released callable. Entries are
// shared, so a replay in progress keeps its graph alive after eviction.
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
  // Bounds of 0 are taken as 1 graph / 1 byte.
  GraphCache(size_t capacity, uint64_t capacity_bytes)
      : capacity_(capacity == 0 ? 1 : capacity),
        capacity_bytes_(capacity_bytes == 0 ? 1 : capacity_bytes) {}

  // The graph recorded for `generation` whose reads match `args`, marked most recently used.
  std::shared_ptr<const DeviceGraph> find(uint64_t generation, const RunArgs& args);
  // Adds a graph (unless an equal one raced in first; then returns that one), evicting the
  // least recently used beyond either bound.
  std::shared_ptr<const DeviceGraph> insert(std::shared_ptr<const DeviceGraph> graph,
                                            const RunArgs& args);
  void forget(uint64_t generation);

  size_t entries() const;
  uint64_t device_bytes() const;
  size_t capacity() const { return capacity_; }
  uint64_t capacity_bytes() const { return capacity_bytes_; }
  uint64_t evictions() const;

 private:
  std::shared_ptr<const DeviceGraph> find_locked(uint64_t generation, const RunArgs& args);
  const size_t capacity_;
  const uint64_t capacity_bytes_;
  mutable std::mutex mutex_;
  std::list<std::shared_ptr<const DeviceGraph>> lru_;  // most recent first
  uint64_t bytes_ = 0;                                 // device bytes of the graphs in lru_
  uint64_t evictions_ = 0;
};

}  // namespace chiprt::runtime

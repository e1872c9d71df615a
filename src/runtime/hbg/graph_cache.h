// GraphCache: recorded graphs of one worker, keyed by (callable buffer generation, what the
// orchestration read: tensor argument shapes and dtypes, scalar values). LRU with three bounds:
// the number of graphs, the device bytes they hold (their allocations) and the host bytes they
// hold (DeviceGraph::host_bytes plus the list node); inserting evicts least recently used graphs
// until all hold, so a graph larger than a byte bound is not kept at all. forget(generation) drops
// every graph of a released callable. Entries are shared, so a replay in progress keeps its graph
// alive after eviction.
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
  GraphCache(size_t capacity, uint64_t capacity_bytes, uint64_t capacity_host_bytes)
      : capacity_(capacity == 0 ? 1 : capacity),
        capacity_bytes_(capacity_bytes == 0 ? 1 : capacity_bytes),
        capacity_host_bytes_(capacity_host_bytes == 0 ? 1 : capacity_host_bytes) {}

  // Host bytes an entry costs beyond its graph: the list node.
  static constexpr uint64_t kEntryBytes =
      sizeof(std::shared_ptr<const DeviceGraph>) + 2 * sizeof(void*);
  static uint64_t host_bytes_of(const DeviceGraph& graph) { return graph.host_bytes + kEntryBytes; }

  // The graph recorded for `generation` whose reads match `args`, marked most recently used.
  std::shared_ptr<const DeviceGraph> find(uint64_t generation, const RunArgs& args);
  // Adds a graph (unless an equal one raced in first; then returns that one), evicting the
  // least recently used beyond either bound.
  std::shared_ptr<const DeviceGraph> insert(std::shared_ptr<const DeviceGraph> graph,
                                            const RunArgs& args);
  void forget(uint64_t generation);

  struct Use {
    uint64_t entries = 0;
    uint64_t device_bytes = 0;
    uint64_t host_bytes = 0;
    uint64_t peak_entries = 0;
    uint64_t peak_device_bytes = 0;
    uint64_t peak_host_bytes = 0;
    uint64_t evictions = 0;
  };
  Use use() const;
  uint64_t device_bytes() const;
  size_t capacity() const { return capacity_; }
  uint64_t capacity_bytes() const { return capacity_bytes_; }
  uint64_t capacity_host_bytes() const { return capacity_host_bytes_; }

 private:
  std::shared_ptr<const DeviceGraph> find_locked(uint64_t generation, const RunArgs& args);
  const size_t capacity_;
  const uint64_t capacity_bytes_;
  const uint64_t capacity_host_bytes_;
  mutable std::mutex mutex_;
  std::list<std::shared_ptr<const DeviceGraph>> lru_;  // most recent first
  Use use_;                                            // of the graphs in lru_
};

}  // namespace chiprt::runtime

// TensorMap: derives a task's dependencies from the tensor views of earlier tasks.
//
// A new task depends on every recorded task whose view of the same tensor overlaps one of its
// own views where at least one side writes: read-after-write, write-after-read and
// write-after-write. Reads never order reads, and disjoint views of one tensor (row tiles,
// column tiles) never depend on each other (see Footprint). Entries are removed by retire(), so
// the map holds only tasks that are still in flight (tmr retires them as ring slots are
// reclaimed; hbg records a whole graph and drops the map afterwards).
//
// Tensors are named by the runtime's opaque handles. Single-threaded: used only by the thread
// that submits tasks.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/common/footprint.h"

namespace chiprt::runtime {

struct TensorAccess {
  uint64_t handle;
  bool write;  // output or inout
  Footprint footprint;
};

class TensorMap {
 public:
  struct Entry {
    uint64_t task;
    bool write;
    Footprint footprint;
  };
  // Where one recorded access lives, so that retiring it needs no search.
  using Placed = std::pair<uint64_t, std::multimap<uint64_t, Entry>::iterator>;

  // Appends to `deps` the tasks `task` must wait for (each at most once, ascending), then
  // records its accesses; appends where they went to `placed` when given.
  void submit(uint64_t task, std::span<const TensorAccess> accesses, std::vector<uint64_t>& deps,
              std::vector<Placed>* placed = nullptr);
  // Forgets the accesses listed in `placed` (from one submit) and clears it.
  void retire(std::vector<Placed>& placed);
  size_t entries() const { return entries_; }

 private:
  // Entries of one tensor ordered by their first element; a lookup for [lo, hi) only visits
  // entries starting in [lo - max_span, hi), so many small tiles of one tensor stay cheap.
  struct PerTensor {
    std::multimap<uint64_t, Entry> by_lo;
    uint64_t max_span = 0;
  };
  std::unordered_map<uint64_t, PerTensor> by_tensor_;
  size_t entries_ = 0;
};

}  // namespace chiprt::runtime

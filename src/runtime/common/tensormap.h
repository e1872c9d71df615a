// TensorMap: derives a task's dependencies from the tensor views of earlier tasks. Serves both
// runtimes: tmr asks it as tasks are submitted, hbg while recording a graph.
//
// A new task depends on every recorded access whose view of the same tensor overlaps one of
// its own views where at least one side writes: read-after-write, write-after-read and
// write-after-write. Reads never order reads, and disjoint views of one tensor (row tiles,
// column tiles) never depend on each other (see Footprint).
//
// Supersession: a write whose footprint covers an earlier access's footprint depends on it and
// then drops it. Whatever would have depended on the dropped access overlaps the write, so it
// depends on the write instead (and through it on the dropped task). A chain of N in-place
// (inout) tasks on one tensor thus gives N - 1 dependencies, and the map holds one entry per
// region that is still distinct, however long the stream.
//
// Lookup: entries of one tensor sit in a vector sorted by their first element; a query for
// [lo, hi) visits only entries starting in [lo - max_span, hi). A candidate with the same
// footprint is a direct hit (overlap and coverage known without comparing runs).
//
// Memory: entries live in a pool with a free list, a tensor's sorted vector keeps its capacity,
// and a tensor with no entries left parks its hash node for the next tensor. So once a steady
// stream has warmed the pool up, submit() and retire() allocate nothing (for footprints of at
// most kEagerRuns runs; wider ones may allocate their run storage).
//
// Tensors are named by the runtime's opaque handles. Single-threaded: used only by the thread
// that submits tasks.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "chiprt/abi/orchestration.h"
#include "runtime/common/footprint.h"

namespace chiprt::runtime {

struct TensorAccess {
  uint64_t handle = 0;
  bool write = false;  // output or inout
  Footprint footprint;
};

// The accesses of one task, in storage reused from task to task (a footprint keeps its runs'
// capacity), so listing them allocates nothing in steady state.
class TaskAccesses {
 public:
  void clear() { count_ = 0; }
  // At most CHIPRT_MAX_TASK_PARAMS per task.
  void add(uint64_t handle, bool write, const chiprt_tensor_t& view) {
    TensorAccess& a = items_[count_++];
    a.handle = handle;
    a.write = write;
    a.footprint.assign(view);
  }
  size_t size() const { return count_; }
  operator std::span<const TensorAccess>() const { return {items_.data(), count_}; }

 private:
  std::array<TensorAccess, CHIPRT_MAX_TASK_PARAMS> items_;
  size_t count_ = 0;
};

class TensorMap {
 public:
  // Names one recorded access for retire(). The generation is the entry's when it was placed:
  // an entry dropped by supersession (and perhaps reused since) has moved on, so it is not
  // retired twice.
  struct Placed {
    uint32_t entry;
    uint32_t generation;
  };

  // Appends to `deps` the tasks `task` must wait for (each at most once, ascending), drops
  // the entries its writes supersede, then records its accesses; appends where they went to
  // `placed` when given. With `kinds` (traced runs), appends each dependency's DependencyKind
  // bits (chiprt/run.h), in the order of `deps`.
  void submit(uint64_t task, std::span<const TensorAccess> accesses, std::vector<uint64_t>& deps,
              std::vector<Placed>* placed = nullptr, std::vector<uint32_t>* kinds = nullptr);
  // Forgets the accesses listed in `placed` (from one submit) that are still recorded, and
  // clears it.
  void retire(std::vector<Placed>& placed);

  size_t entries() const { return live_; }
  size_t tensors() const { return tensors_.size(); }
  uint64_t superseded() const { return superseded_; }  // entries dropped by covering writes

 private:
  struct Entry {
    uint64_t task = 0;
    uint64_t handle = 0;
    uint32_t generation = 0;  // bumped when the entry is freed
    bool live = false;
    bool write = false;
    bool drop = false;  // superseded by the access being submitted
    Footprint footprint;
  };
  struct PerTensor {
    std::vector<uint32_t> by_lo;  // pool indices, sorted by footprint.lo()
    uint64_t max_span = 0;        // widest footprint ever recorded while non-empty
  };
  using Tensors = std::unordered_map<uint64_t, PerTensor>;

  // The tensor's entries, or null; the last one found is remembered (most tasks touch the
  // tensor the one before touched), so a stream over one tensor does no hash lookup.
  PerTensor* find_tensor(uint64_t handle);
  PerTensor& tensor(uint64_t handle);  // found or made
  void forget_tensor(uint64_t handle);
  uint32_t new_entry();
  void free_entry(uint32_t index);
  std::vector<uint32_t>::iterator first_from(std::vector<uint32_t>& by_lo, uint64_t lo);

  // An entry's footprint storage grows to the most runs seen so far (up to kEagerRuns) when it
  // is reused with less, so entries recycled between tiles of different shapes stop allocating
  // once each has been used after the widest shape appeared. Wider footprints allocate.
  static constexpr size_t kEagerRuns = 256;
  size_t widest_runs_ = 0;

  std::vector<std::pair<uint64_t, uint32_t>> kind_scratch_;  // (task, kind bit), when asked

  std::vector<Entry> pool_;
  std::vector<uint32_t> free_;
  Tensors tensors_;
  std::vector<Tensors::node_type> spare_nodes_;  // of tensors that emptied
  PerTensor* last_ = nullptr;                    // find_tensor()'s last hit
  uint64_t last_handle_ = 0;
  size_t live_ = 0;
  uint64_t superseded_ = 0;
};

}  // namespace chiprt::runtime

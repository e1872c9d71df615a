// TaskRing: the bounded ring of task slots of one tmr run. Task t lives in slot t % slots, so
// submission waits for the task `slots` places earlier to complete (back-pressure) and the ring
// never grows. Because a task only ever depends on earlier tasks, every task in the ring can
// always run: the ring alone cannot deadlock, only the heap can (see TmrRun::alloc_tensor).
//
// A slot owns the storage its task's descriptor points into (params, resolved tensor bases),
// so the descriptor stays valid until the slot is reclaimed. `busy` and the occupancy are
// atomics so that a task with nothing to release retires without the run's mutex; a busy
// slot's contents belong to its task, and clearing `busy` (release) hands them back.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "chiprt/abi/orchestration.h"
#include "runtime/common/tensor_table.h"
#include "runtime/common/tensormap.h"

namespace chiprt::runtime {

struct TaskSlot {
  uint64_t task_id = 0;
  std::atomic<bool> busy{false};  // submitted and not yet completed
  chiprt_param_t params[CHIPRT_MAX_TASK_PARAMS];
  std::byte* bases[CHIPRT_MAX_TASK_PARAMS];
  std::vector<TensorRecord*> intermediates;  // distinct intermediates it keeps alive
  std::vector<TensorMap::Placed> placed;     // its tensormap entries, retired on reuse
};

class TaskRing {
 public:
  explicit TaskRing(uint32_t slots) : count_(slots), slots_(std::make_unique<TaskSlot[]>(slots)) {}

  uint32_t slots() const { return count_; }
  uint32_t index(uint64_t task) const { return static_cast<uint32_t>(task % count_); }
  TaskSlot& slot(uint32_t index) { return slots_[index]; }

  // occupy() and peak() from the submitting thread only; vacate() returns the new occupancy.
  void occupy() { peak_ = std::max(peak_, in_flight_.fetch_add(1) + 1); }
  uint64_t vacate() { return in_flight_.fetch_sub(1) - 1; }
  uint64_t in_flight() const { return in_flight_.load(); }
  uint64_t peak() const { return peak_; }

 private:
  uint32_t count_;
  std::unique_ptr<TaskSlot[]> slots_;
  std::atomic<uint64_t> in_flight_{0};
  uint64_t peak_ = 0;
};

}  // namespace chiprt::runtime

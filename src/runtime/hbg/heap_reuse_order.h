// HeapReuseOrder: the dependencies an hbg recording adds because intermediates reuse heap bytes.
//
// The recorder frees an intermediate's heap blocks when its scope closes, so a later
// intermediate may occupy the same bytes. The replay runs tasks in any order the graph allows,
// so every task touching the later tensor must follow every task that touched those bytes
// before. Kept minimal: per byte range, only the frontier of the tasks that touched it — the
// last task that wrote the whole tensor (it already follows everything before it through the
// tensormap) and every task after it — and only until the new tensor is wholly written, after
// which the tensormap orders its users behind that writer.
//
// Ranges are named by heap offset: live intermediates never overlap. Single-threaded (the
// recording thread).
#pragma once

#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

namespace chiprt::runtime {

class HeapReuseOrder {
 public:
  // An intermediate now occupies the block [offset, offset + block): it inherits the frontiers
  // of the freed bytes it covers.
  void placed(uint64_t offset, uint64_t block);
  // Appends to `deps` the tasks a task touching the intermediate at `offset` must follow.
  void add_dependencies(uint64_t offset, std::vector<uint64_t>& deps) const;
  // Task `task` touched the intermediate at `offset`; `whole_write` when it wrote every element.
  // Call after add_dependencies for every intermediate of the task.
  void touched(uint64_t offset, uint64_t task, bool whole_write);
  // The intermediate at `offset` was freed: later occupants of its bytes follow its frontier.
  void freed(uint64_t offset);

 private:
  struct Live {
    uint64_t block = 0;
    std::vector<uint64_t> inherited;  // every user follows these, until a whole write
    std::vector<uint64_t> frontier;   // what a later occupant must follow
    bool touched = false;
  };
  struct Freed {
    uint64_t end = 0;
    std::vector<uint64_t> frontier;
  };
  std::unordered_map<uint64_t, Live> live_;  // by offset
  std::map<uint64_t, Freed> freed_;          // by offset; disjoint, and disjoint from live_
};

}  // namespace chiprt::runtime

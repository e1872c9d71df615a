#include "runtime/hbg/heap_reuse_order.h"

#include <algorithm>
#include <iterator>

namespace chiprt::runtime {

void HeapReuseOrder::placed(uint64_t offset, uint64_t block) {
  const uint64_t end = offset + block;
  Live& live = live_[offset];
  live = Live{block, {}, {}, false};
  // Freed ranges that overlap [offset, end): the one starting before it, and those inside it.
  auto it = freed_.lower_bound(offset);
  if (it != freed_.begin() && std::prev(it)->second.end > offset) --it;
  while (it != freed_.end() && it->first < end) {
    const uint64_t lo = it->first;
    Freed range = std::move(it->second);
    it = freed_.erase(it);
    live.inherited.insert(live.inherited.end(), range.frontier.begin(), range.frontier.end());
    // What this block does not cover stays freed, with the same frontier.
    if (range.end > end) it = freed_.emplace_hint(it, end, Freed{range.end, range.frontier});
    if (lo < offset) freed_.emplace(lo, Freed{offset, std::move(range.frontier)});
  }
  std::sort(live.inherited.begin(), live.inherited.end());
  live.inherited.erase(std::unique(live.inherited.begin(), live.inherited.end()),
                       live.inherited.end());
  live.frontier = live.inherited;  // untouched, it passes them on
}

void HeapReuseOrder::add_dependencies(uint64_t offset, std::vector<uint64_t>& deps) const {
  auto it = live_.find(offset);
  if (it == live_.end()) return;
  deps.insert(deps.end(), it->second.inherited.begin(), it->second.inherited.end());
}

void HeapReuseOrder::touched(uint64_t offset, uint64_t task, bool whole_write) {
  auto it = live_.find(offset);
  if (it == live_.end()) return;
  Live& live = it->second;
  if (!live.touched) {
    live.frontier.clear();  // this task follows everything inherited
    live.touched = true;
  }
  if (whole_write) {
    live.frontier.assign(1, task);
    live.inherited.clear();  // later users follow this writer through the tensormap
  } else if (live.frontier.empty() || live.frontier.back() != task) {
    live.frontier.push_back(task);
  }
}

void HeapReuseOrder::freed(uint64_t offset) {
  auto it = live_.find(offset);
  if (it == live_.end()) return;
  freed_.emplace(offset, Freed{offset + it->second.block, std::move(it->second.frontier)});
  live_.erase(it);
}

}  // namespace chiprt::runtime

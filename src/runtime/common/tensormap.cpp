#include "runtime/common/tensormap.h"

#include "chiprt/run.h"

#include <algorithm>

namespace chiprt::runtime {

std::vector<uint32_t>::iterator TensorMap::first_from(std::vector<uint32_t>& by_lo, uint64_t lo) {
  return std::lower_bound(by_lo.begin(), by_lo.end(), lo, [this](uint32_t i, uint64_t value) {
    return pool_[i].footprint.lo() < value;
  });
}

TensorMap::PerTensor* TensorMap::find_tensor(uint64_t handle) {
  if (last_ != nullptr && last_handle_ == handle) return last_;
  auto it = tensors_.find(handle);
  if (it == tensors_.end()) return nullptr;
  last_handle_ = handle;
  last_ = &it->second;  // nodes never move while in the map
  return last_;
}

TensorMap::PerTensor& TensorMap::tensor(uint64_t handle) {
  if (PerTensor* t = find_tensor(handle)) return *t;
  if (spare_nodes_.empty()) return tensors_[handle];
  // Reuse a parked node (and its vector's capacity): no allocation.
  Tensors::node_type node = std::move(spare_nodes_.back());
  spare_nodes_.pop_back();
  node.key() = handle;
  return tensors_.insert(std::move(node)).position->second;
}

void TensorMap::forget_tensor(uint64_t handle) {
  auto it = tensors_.find(handle);
  if (last_ == &it->second) last_ = nullptr;
  it->second.max_span = 0;
  spare_nodes_.push_back(tensors_.extract(it));
}

uint32_t TensorMap::new_entry() {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = static_cast<uint32_t>(pool_.size());
    pool_.emplace_back();
    free_.reserve(pool_.capacity());  // freeing never allocates
  }
  pool_[index].live = true;
  ++live_;
  return index;
}

void TensorMap::free_entry(uint32_t index) {
  Entry& e = pool_[index];
  e.live = false;
  e.drop = false;
  ++e.generation;
  free_.push_back(index);
  --live_;
}

void TensorMap::submit(uint64_t task, std::span<const TensorAccess> accesses,
                       std::vector<uint64_t>& deps, std::vector<Placed>* placed,
                       std::vector<uint32_t>* kinds) {
  const size_t first = deps.size();
  if (kinds) kind_scratch_.clear();
  for (const TensorAccess& a : accesses) {
    PerTensor* found = find_tensor(a.handle);
    if (found == nullptr) continue;
    PerTensor& t = *found;
    const uint64_t lo = a.footprint.lo();
    bool dropped = false;
    for (auto e = first_from(t.by_lo, lo > t.max_span ? lo - t.max_span : 0);
         e != t.by_lo.end() && pool_[*e].footprint.lo() < a.footprint.hi(); ++e) {
      Entry& entry = pool_[*e];
      if (entry.task == task || !(a.write || entry.write)) continue;
      // Exact region first: the same footprint overlaps, and a write covers it when exact.
      const bool same = entry.footprint == a.footprint;
      if (!same && !a.footprint.overlaps(entry.footprint)) continue;
      deps.push_back(entry.task);
      if (kinds) {
        const uint32_t kind = !a.write      ? kReadAfterWrite
                              : entry.write ? kWriteAfterWrite
                                            : kWriteAfterRead;
        kind_scratch_.emplace_back(entry.task, kind);
      }
      if (a.write && (same ? a.footprint.exact() : a.footprint.covers(entry.footprint))) {
        entry.drop = true;
        dropped = true;
      }
    }
    if (!dropped) continue;
    auto kept = std::remove_if(t.by_lo.begin(), t.by_lo.end(), [this](uint32_t i) {
      if (!pool_[i].drop) return false;
      free_entry(i);
      ++superseded_;
      return true;
    });
    t.by_lo.erase(kept, t.by_lo.end());
    // An emptied tensor stays: this task records an access to it below.
  }
  std::sort(deps.begin() + static_cast<ptrdiff_t>(first), deps.end());
  deps.erase(std::unique(deps.begin() + static_cast<ptrdiff_t>(first), deps.end()), deps.end());
  if (kinds) {
    std::sort(kind_scratch_.begin(), kind_scratch_.end());
    auto k = kind_scratch_.begin();
    for (size_t i = first; i < deps.size(); ++i) {
      uint32_t bits = 0;
      for (; k != kind_scratch_.end() && k->first == deps[i]; ++k) bits |= k->second;
      kinds->push_back(bits);
    }
  }
  for (const TensorAccess& a : accesses) {
    PerTensor& t = tensor(a.handle);
    const uint32_t index = new_entry();
    Entry& entry = pool_[index];
    entry.task = task;
    entry.handle = a.handle;
    entry.write = a.write;
    const size_t runs = a.footprint.run_count();
    widest_runs_ = std::max(widest_runs_, std::min(runs, kEagerRuns));
    if (const size_t want = std::max(runs, widest_runs_); entry.footprint.run_capacity() < want) {
      entry.footprint.reserve_runs(want);
    }
    entry.footprint = a.footprint;  // reuses the entry's run storage
    const uint64_t lo = a.footprint.lo();
    t.max_span = std::max(t.max_span, a.footprint.hi() - lo);
    auto at = std::upper_bound(
        t.by_lo.begin(), t.by_lo.end(), lo,
        [this](uint64_t value, uint32_t i) { return value < pool_[i].footprint.lo(); });
    t.by_lo.insert(at, index);
    if (placed) placed->push_back({index, entry.generation});
  }
}

void TensorMap::retire(std::vector<Placed>& placed) {
  for (const Placed& p : placed) {
    const Entry& e = pool_[p.entry];
    if (!e.live || e.generation != p.generation) continue;  // superseded already
    std::vector<uint32_t>& by_lo = find_tensor(e.handle)->by_lo;
    auto at = std::find(first_from(by_lo, e.footprint.lo()), by_lo.end(), p.entry);
    by_lo.erase(at);
    const uint64_t handle = e.handle;
    free_entry(p.entry);
    if (by_lo.empty()) forget_tensor(handle);
  }
  placed.clear();
}

}  // namespace chiprt::runtime

#include "runtime/tmr/tensormap.h"

#include <algorithm>

namespace chiprt::runtime {

void TensorMap::submit(uint64_t task, std::span<const TensorAccess> accesses,
                       std::vector<uint64_t>& deps, std::vector<Placed>* placed) {
  const size_t first = deps.size();
  for (const TensorAccess& a : accesses) {
    auto it = by_tensor_.find(a.handle);
    if (it == by_tensor_.end()) continue;
    const PerTensor& t = it->second;
    const uint64_t lo = a.footprint.lo();
    auto e = t.by_lo.lower_bound(lo > t.max_span ? lo - t.max_span : 0);
    for (; e != t.by_lo.end() && e->first < a.footprint.hi(); ++e) {
      const Entry& entry = e->second;
      if ((a.write || entry.write) && entry.task != task && a.footprint.overlaps(entry.footprint)) {
        deps.push_back(entry.task);
      }
    }
  }
  std::sort(deps.begin() + static_cast<ptrdiff_t>(first), deps.end());
  deps.erase(std::unique(deps.begin() + static_cast<ptrdiff_t>(first), deps.end()), deps.end());
  for (const TensorAccess& a : accesses) {
    PerTensor& t = by_tensor_[a.handle];
    t.max_span = std::max(t.max_span, a.footprint.hi() - a.footprint.lo());
    auto at = t.by_lo.emplace(a.footprint.lo(), Entry{task, a.write, a.footprint});
    if (placed) placed->emplace_back(a.handle, at);
    ++entries_;
  }
}

void TensorMap::retire(std::vector<Placed>& placed) {
  for (const auto& [handle, entry] : placed) {
    auto t = by_tensor_.find(handle);
    t->second.by_lo.erase(entry);
    --entries_;
    if (t->second.by_lo.empty()) by_tensor_.erase(t);
  }
  placed.clear();
}

}  // namespace chiprt::runtime

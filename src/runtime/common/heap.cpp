#include "runtime/common/heap.h"

#include <algorithm>
#include <iterator>

namespace chiprt::runtime {

Heap::Heap(uint64_t capacity) : capacity_(capacity / kAlign * kAlign) {
  if (capacity_ > 0) free_.emplace(0, capacity_);
}

std::optional<uint64_t> Heap::allocate(uint64_t bytes) {
  const uint64_t size = block_size(bytes);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < size) continue;
    const uint64_t offset = it->first;
    const uint64_t rest = it->second - size;
    free_.erase(it);
    if (rest > 0) free_.emplace(offset + size, rest);
    used_ += size;
    peak_ = std::max(peak_, used_);
    return offset;
  }
  return std::nullopt;
}

void Heap::free(uint64_t offset, uint64_t bytes) {
  uint64_t size = block_size(bytes);
  used_ -= size;
  auto next = free_.lower_bound(offset);
  if (next != free_.end() && next->first == offset + size) {
    size += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      prev->second += size;
      return;
    }
  }
  free_.emplace(offset, size);
}

}  // namespace chiprt::runtime

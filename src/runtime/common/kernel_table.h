// KernelTable: the dispatch table of one run, the leased callable's own kernels by func_id.
// A func_id that is not one of its children is not found: there is no global lookup. On the
// host the entries are the device loader's opaque code tokens; on the device, callable entry
// points. Immutable once built.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "chiprt/image.h"

namespace chiprt::runtime {

struct KernelRef {
  uint32_t func_id = 0;
  CoreType core = CoreType::aiv;
  const void* entry = nullptr;
};

class KernelTable {
 public:
  KernelTable() = default;
  explicit KernelTable(std::vector<KernelRef> kernels) : kernels_(std::move(kernels)) {
    std::sort(kernels_.begin(), kernels_.end(),
              [](const KernelRef& a, const KernelRef& b) { return a.func_id < b.func_id; });
  }
  const KernelRef* find(uint32_t func_id) const {
    auto it = std::lower_bound(kernels_.begin(), kernels_.end(), func_id,
                               [](const KernelRef& k, uint32_t id) { return k.func_id < id; });
    return it != kernels_.end() && it->func_id == func_id ? &*it : nullptr;
  }
  std::span<const KernelRef> all() const { return kernels_; }

 private:
  std::vector<KernelRef> kernels_;
};

}  // namespace chiprt::runtime

// CallableRegistry: callable ids over a ChipBufferPool. Ids are the smallest free ones, with no
// fixed cap. register_image, unregister, lease and info are thread-safe with each other (lock
// order: registry, then pool). release_all must not overlap any other call: ChipWorker runs it
// under its exclusive lifecycle lock.
#pragma once

#include <mutex>
#include <set>
#include <vector>

#include "chip_buffer_pool.h"

namespace chiprt::registry {

class IdAllocator {
 public:
  uint32_t allocate();
  void free(uint32_t id);
  uint32_t high_water() const { return next_; }

 private:
  uint32_t next_ = 0;
  std::set<uint32_t> free_below_next_;
};

class CallableRegistry {
 public:
  explicit CallableRegistry(ChipBufferPool& pool) : pool_(pool) {}

  Result<CallableId> register_image(ByteSpan image);
  Status unregister(CallableId id);
  Result<Lease> lease(CallableId id);
  Result<CallableInfo> info(CallableId id) const;
  // Drops every registration; returns how many were still live.
  uint64_t release_all();

  uint64_t live() const;
  uint64_t total() const;

 private:
  Result<ChipBuffer*> lookup_locked(CallableId id) const;
  ChipBufferPool& pool_;
  mutable std::mutex mutex_;
  IdAllocator ids_;
  std::vector<ChipBuffer*> slots_;  // by id; nullptr when free
  uint64_t live_ = 0;
  uint64_t total_ = 0;
};

}  // namespace chiprt::registry

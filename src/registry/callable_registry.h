// CallableRegistry: callable ids over a ChipBufferPool. An id is a slot (the smallest free one,
// with no fixed cap) tagged with that slot's generation, which moves on each time the slot is
// freed, so an id held past its unregister never names a later registration (encoding: see
// CallableId in chiprt/callable.h). register_image, unregister, lease and info are thread-safe
// with each other (lock order: registry, then pool). release_all must not overlap any other
// call: ChipWorker runs it under its exclusive lifecycle lock.
#pragma once

#include <mutex>
#include <set>
#include <vector>

#include "chip_buffer_pool.h"
#include "chiprt/callable.h"

namespace chiprt::registry {

// Hands out slot numbers: the smallest free one.
class IdAllocator {
 public:
  uint32_t allocate() noexcept;
  void free(uint32_t slot);
  uint32_t high_water() const { return next_; }

 private:
  uint32_t next_ = 0;
  std::set<uint32_t> free_below_next_;
};

class CallableRegistry {
 public:
  // `first_generation` is the generation of every slot's first id: 0, so that the first id of a
  // fresh registry is 0; tests start near the top of the range to exercise retirement.
  explicit CallableRegistry(ChipBufferPool& pool, uint32_t first_generation = 0)
      : pool_(pool), first_generation_(first_generation) {}

  Result<CallableId> register_image(ByteSpan image);
  // A stale id (its slot freed since, whether or not reused) is not_found, as is an id never
  // handed out; neither touches the slot's current registration.
  Status unregister(CallableId id);
  Result<Lease> lease(CallableId id);
  Result<CallableInfo> info(CallableId id) const;
  // Drops every registration; returns how many were still live. Slots keep their generations,
  // so ids from before stay stale afterwards.
  uint64_t release_all();

  uint64_t live() const;
  uint64_t total() const;

 private:
  struct Slot {
    ChipBuffer* buffer = nullptr;  // nullptr when free
    uint32_t generation = 0;       // of the id the slot holds (or will hand out next)
  };
  Result<ChipBuffer*> lookup_locked(CallableId id) const;
  // Makes slots_ hold the slot ids_.allocate() hands out next. May throw (host memory).
  void grow_slots_locked();
  // Frees a live slot: bumps its generation and returns it to the allocator, or retires it for
  // good when its generations are used up (a wrap would bring old ids back).
  void free_slot_locked(uint32_t slot);

  ChipBufferPool& pool_;
  const uint32_t first_generation_;
  mutable std::mutex mutex_;
  IdAllocator ids_;
  std::vector<Slot> slots_;  // by slot number; never shrinks, so generations persist
  uint64_t live_ = 0;
  uint64_t total_ = 0;
};

}  // namespace chiprt::registry

#include "callable_registry.h"

#include <fmt/format.h>

#include <limits>

#include "thrown_status.h"

namespace chiprt::registry {
namespace {

constexpr CallableId make_id(uint32_t slot, uint32_t generation) {
  return (static_cast<CallableId>(generation) << 32) | slot;
}
constexpr uint32_t slot_of(CallableId id) {
  return static_cast<uint32_t>(id);
}
constexpr uint32_t generation_of(CallableId id) {
  return static_cast<uint32_t>(id >> 32);
}

}  // namespace

uint32_t IdAllocator::allocate() noexcept {
  if (free_below_next_.empty()) return next_++;
  return free_below_next_.extract(free_below_next_.begin()).value();
}

void IdAllocator::free(uint32_t slot) {
  if (slot + 1 == next_) {
    --next_;  // the top slot: no set insertion (and no allocation) needed
  } else {
    free_below_next_.insert(slot);
  }
  // Keep the free set small: trailing free slots fold back into `next_`.
  while (next_ > 0 && free_below_next_.contains(next_ - 1)) free_below_next_.erase(--next_);
}

Result<CallableId> CallableRegistry::register_image(ByteSpan image) {
  // No exception crosses registration, and none leaves a trace: host allocations come before
  // anything changes. First the slot table grows to hold the slot this registration takes
  // (an entry for a free slot is no visible change).
  try {
    std::lock_guard lock(mutex_);
    grow_slots_locked();
  } catch (...) {
    return thrown_status("assigning a callable id");
  }
  // The pool's acquire() never throws; parsing throws before anything changed.
  Result<ChipBuffer*> acquired = [&]() -> Result<ChipBuffer*> {
    try {
      CHIPRT_ASSIGN_OR_RETURN(ImageView view, ImageView::parse(image));
      return pool_.acquire(view);
    } catch (...) {
      return thrown_status("parsing the image");
    }
  }();
  CHIPRT_ASSIGN_OR_RETURN(ChipBuffer * buffer, std::move(acquired));
  std::unique_lock lock(mutex_);
  try {
    grow_slots_locked();  // allocates only if concurrent registrations took the grown slot
  } catch (...) {
    lock.unlock();
    pool_.release(buffer);  // all or nothing: hand the reference back
    return thrown_status("assigning a callable id");
  }
  // Nothing below throws once the slot exists.
  const uint32_t slot = ids_.allocate();
  slots_[slot].buffer = buffer;
  ++live_;
  ++total_;
  return make_id(slot, slots_[slot].generation);
}

void CallableRegistry::grow_slots_locked() {
  if (ids_.high_water() >= slots_.size()) {
    slots_.resize(ids_.high_water() + 1, Slot{nullptr, first_generation_});
  }
}

Result<ChipBuffer*> CallableRegistry::lookup_locked(CallableId id) const {
  const uint32_t slot = slot_of(id);
  if (slot >= slots_.size() || slots_[slot].buffer == nullptr) {
    return Status(StatusCode::not_found, fmt::format("callable id {} is not registered", id));
  }
  if (slots_[slot].generation != generation_of(id)) {
    return Status(StatusCode::not_found,
                  fmt::format("callable id {} is stale (slot {}, generation {}; the slot is at "
                              "generation {})",
                              id, slot, generation_of(id), slots_[slot].generation));
  }
  return slots_[slot].buffer;
}

void CallableRegistry::free_slot_locked(uint32_t slot) {
  Slot& entry = slots_[slot];
  entry.buffer = nullptr;
  if (entry.generation == std::numeric_limits<uint32_t>::max()) return;  // retired
  ++entry.generation;
  ids_.free(slot);
}

Status CallableRegistry::unregister(CallableId id) {
  ChipBuffer* buffer = nullptr;
  {
    std::lock_guard lock(mutex_);
    CHIPRT_ASSIGN_OR_RETURN(buffer, lookup_locked(id));
    free_slot_locked(slot_of(id));
    --live_;
  }
  pool_.release(buffer);
  return Status::Ok();
}

Result<Lease> CallableRegistry::lease(CallableId id) {
  std::lock_guard lock(mutex_);
  CHIPRT_ASSIGN_OR_RETURN(ChipBuffer * buffer, lookup_locked(id));
  return pool_.lease(buffer);
}

Result<CallableInfo> CallableRegistry::info(CallableId id) const {
  Result<Lease> held = const_cast<CallableRegistry*>(this)->lease(id);
  if (!held.ok()) return std::move(held).status();
  const ChipBuffer& buffer = held->buffer();
  CallableInfo info;
  info.buffer_generation = buffer.generation;
  info.buffer_addr = buffer.memory.addr();
  info.buffer_bytes = buffer.memory.size();
  info.refcount = pool_.refcount(&buffer);
  info.orch_on_device = buffer.runtime == RuntimeKind::tmr;
  info.orch_addr = buffer.orch_addr();
  info.orch_size = buffer.orch_size;
  info.orch_entry = buffer.orchestration ? buffer.orchestration->entry() : nullptr;
  for (const LoadedKernel& kernel : buffer.kernels) {
    info.kernels.push_back({kernel.func_id, kernel.core, kernel.addr, kernel.size,
                            kernel.code ? kernel.code->entry() : nullptr});
  }
  return info;
}

uint64_t CallableRegistry::release_all() {
  uint64_t leaked = 0;
  {
    std::lock_guard lock(mutex_);
    leaked = live_;
    // Highest first, so that each freed slot folds straight back into the allocator's top.
    for (size_t slot = slots_.size(); slot-- > 0;) {
      if (slots_[slot].buffer != nullptr) free_slot_locked(static_cast<uint32_t>(slot));
    }
    live_ = 0;
  }
  pool_.release_all();
  return leaked;
}

uint64_t CallableRegistry::live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

uint64_t CallableRegistry::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace chiprt::registry

#include "callable_registry.h"

#include <fmt/format.h>

namespace chiprt::registry {

uint32_t IdAllocator::allocate() {
  if (free_below_next_.empty()) return next_++;
  return free_below_next_.extract(free_below_next_.begin()).value();
}

void IdAllocator::free(uint32_t id) {
  free_below_next_.insert(id);
  // Keep the free set small: trailing free ids fold back into `next_`.
  while (next_ > 0 && free_below_next_.contains(next_ - 1)) free_below_next_.erase(--next_);
}

Result<CallableId> CallableRegistry::register_image(ByteSpan image) {
  CHIPRT_ASSIGN_OR_RETURN(ImageView view, ImageView::parse(image));
  CHIPRT_ASSIGN_OR_RETURN(ChipBuffer * buffer, pool_.acquire(view));
  std::unique_lock lock(mutex_);
  try {
    if (ids_.high_water() >= slots_.size()) slots_.resize(ids_.high_water() + 1, nullptr);
    const CallableId id = ids_.allocate();  // cannot throw once the slot exists
    slots_[id] = buffer;
    ++live_;
    ++total_;
    return id;
  } catch (const std::bad_alloc&) {
    lock.unlock();
    pool_.release(buffer);  // all or nothing: hand the reference back
    return Status(StatusCode::internal, "host memory exhausted while assigning a callable id");
  }
}

Result<ChipBuffer*> CallableRegistry::lookup_locked(CallableId id) const {
  if (id >= slots_.size() || slots_[id] == nullptr) {
    return Status(StatusCode::not_found, fmt::format("callable id {} is not registered", id));
  }
  return slots_[id];
}

Status CallableRegistry::unregister(CallableId id) {
  ChipBuffer* buffer = nullptr;
  {
    std::lock_guard lock(mutex_);
    CHIPRT_ASSIGN_OR_RETURN(buffer, lookup_locked(id));
    slots_[id] = nullptr;
    ids_.free(id);
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
    slots_.clear();
    ids_ = IdAllocator();
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

#include "legacy_worker.h"

#include <fmt/format.h>

namespace chiprt::cli {
namespace {

uint64_t fnv1a64(ByteSpan bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (std::byte b : bytes) hash = (hash ^ static_cast<uint8_t>(b)) * 1099511628211ull;
  return hash;
}

}  // namespace

Result<CallableId> LegacyWorker::register_callable(ByteSpan image) {
  CHIPRT_ASSIGN_OR_RETURN(ImageView view, ImageView::parse(image));
  const uint64_t key = fnv1a64(image);
  std::lock_guard lock(mutex_);
  if (!by_fnv_.contains(key)) {
    CHIPRT_ASSIGN_OR_RETURN(DeviceBuffer whole, device_.allocate(image.size(), MemoryTag::callable));
    CHIPRT_RETURN_IF_ERROR(device_.copy_to_device(whole.addr(), image));
    CHIPRT_ASSIGN_OR_RETURN(DeviceBuffer orch, device_.allocate(view.orch_size(), MemoryTag::callable));
    CHIPRT_RETURN_IF_ERROR(device_.copy_to_device(orch.addr(), view.orchestration()));
    ++orch_uploads_;
    by_fnv_.emplace(key, buffers_.size());
    buffers_.push_back(std::move(whole));
    buffers_.push_back(std::move(orch));
  }
  live_ids_.push_back(true);
  ++live_;
  return static_cast<CallableId>(live_ids_.size() - 1);
}

Status LegacyWorker::unregister_callable(CallableId id) {
  std::lock_guard lock(mutex_);
  if (id >= live_ids_.size() || !live_ids_[id]) {
    return Status(StatusCode::not_found, fmt::format("callable id {} is not registered", id));
  }
  live_ids_[id] = false;
  --live_;
  return Status::Ok();
}

void LegacyWorker::finalize() {
  std::lock_guard lock(mutex_);
  buffers_.clear();
  by_fnv_.clear();
}

uint64_t LegacyWorker::registrations_live() const {
  std::lock_guard lock(mutex_);
  return live_;
}

uint64_t LegacyWorker::buffers_live() const {
  std::lock_guard lock(mutex_);
  return buffers_.size();
}

uint64_t LegacyWorker::orch_uploads() const {
  std::lock_guard lock(mutex_);
  return orch_uploads_;
}

}  // namespace chiprt::cli

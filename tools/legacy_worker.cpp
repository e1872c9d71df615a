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
    // One callable buffer holds the placed image and, after it, the orchestration uploaded a
    // second time: the device counts that second upload as a re-upload, like any other.
    const uint64_t orch_copy_at = image.size();
    CHIPRT_ASSIGN_OR_RETURN(DeviceBuffer buffer,
                            device_.allocate(orch_copy_at + view.orch_size(), MemoryTag::callable));
    CHIPRT_RETURN_IF_ERROR(device_.copy_to_device(buffer.addr(), image));
    CHIPRT_RETURN_IF_ERROR(
        device_.copy_to_device(buffer.addr() + orch_copy_at, view.orchestration()));
    by_fnv_.emplace(key, buffers_.size());
    buffers_.push_back(std::move(buffer));
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

}  // namespace chiprt::cli

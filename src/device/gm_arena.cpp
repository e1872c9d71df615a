#include "gm_arena.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace chiprt::device {

Result<std::unique_ptr<GmArena>> GmArena::create(std::byte* host_base, uint64_t capacity_bytes) {
  if (capacity_bytes == 0 || capacity_bytes % kGranularity != 0) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("device capacity {} must be a positive multiple of {}",
                              capacity_bytes, kGranularity));
  }
  return std::unique_ptr<GmArena>(new GmArena(host_base, capacity_bytes));
}

GmArena::GmArena(std::byte* host_base, uint64_t capacity)
    : host_base_(host_base), capacity_(capacity) {
  free_blocks_.emplace(0, Block{capacity, MemoryTag::other});
  stats_.capacity_bytes = capacity;
  stats_.granularity = kGranularity;
}

Result<DeviceAddr> GmArena::allocate(uint64_t size, MemoryTag tag) {
  if (size == 0 || size % kGranularity != 0) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("arena blocks are positive multiples of {} bytes, not {}", kGranularity, size));
  }
  std::lock_guard lock(mutex_);
  for (auto it = free_blocks_.begin(); it != free_blocks_.end(); ++it) {
    if (it->second.size < size) continue;
    const uint64_t offset = it->first;
    const uint64_t remaining = it->second.size - size;
    // The only host allocation (the remainder's node) comes first: if it throws, the arena is
    // as it was. The free block's own node becomes the live one.
    Blocks::node_type rest;
    if (remaining > 0) {
      Blocks staging;
      staging.emplace(offset + size, Block{remaining, MemoryTag::other});
      rest = staging.extract(staging.begin());
    }
    Blocks::node_type taken = free_blocks_.extract(it);
    taken.mapped() = Block{size, tag};
    live_blocks_.insert(std::move(taken));
    if (rest) free_blocks_.insert(std::move(rest));
    TagStats& t = stats_.tags[static_cast<size_t>(tag)];
    t.live_bytes += size;
    t.peak_bytes = std::max(t.peak_bytes, t.live_bytes);
    ++t.live_allocations;
    ++t.total_allocations;
    stats_.live_bytes += size;
    stats_.peak_bytes = std::max(stats_.peak_bytes, stats_.live_bytes);
    ++stats_.live_allocations;
    return kDeviceBase + offset;
  }
  ++stats_.failed_allocations;
  return Status(StatusCode::out_of_device_memory,
                fmt::format("cannot allocate {} bytes ({}): {} of {} bytes live", size,
                            memory_tag_name(tag), stats_.live_bytes, capacity_));
}

void GmArena::release(DeviceAddr addr) noexcept {
  std::lock_guard lock(mutex_);
  auto it = live_blocks_.find(addr - kDeviceBase);
  if (it == live_blocks_.end()) {
    // DeviceBuffer releases once; anything else is a bug to be seen, not a crash to risk.
    ++stats_.bad_frees;
    return;
  }
  uint64_t offset = it->first;
  uint64_t size = it->second.size;
  TagStats& t = stats_.tags[static_cast<size_t>(it->second.tag)];
  t.live_bytes -= size;
  --t.live_allocations;
  ++t.frees;
  stats_.live_bytes -= size;
  --stats_.live_allocations;
  // The live node becomes the free one, or goes once merged into a free neighbour: nothing
  // here allocates, so a release cannot fail.
  Blocks::node_type freed = live_blocks_.extract(it);
  // Coalesce with the free neighbours on both sides.
  auto next = free_blocks_.lower_bound(offset);
  if (next != free_blocks_.end() && next->first == offset + size) {
    size += next->second.size;
    next = free_blocks_.erase(next);
  }
  if (next != free_blocks_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.size == offset) {
      prev->second.size += size;
      return;
    }
  }
  freed.mapped() = Block{size, MemoryTag::other};
  free_blocks_.insert(next, std::move(freed));
}

GmArena::Block* GmArena::find_locked(DeviceAddr addr, uint64_t bytes) {
  if (addr < kDeviceBase) return nullptr;
  const uint64_t offset = addr - kDeviceBase;
  auto it = live_blocks_.upper_bound(offset);
  if (it == live_blocks_.begin()) return nullptr;
  --it;
  const uint64_t within = offset - it->first;
  if (within > it->second.size || bytes > it->second.size - within) return nullptr;
  return &it->second;
}

std::byte* GmArena::host_pointer(DeviceAddr addr, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  return find_locked(addr, bytes) ? host_base_ + (addr - kDeviceBase) : nullptr;
}

std::byte* GmArena::upload_target(DeviceAddr addr, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  Block* block = find_locked(addr, bytes);
  if (block == nullptr) return nullptr;
  TagStats& t = stats_.tags[static_cast<size_t>(block->tag)];
  ++t.uploads;
  t.upload_bytes += bytes;
  if (block->uploads++ > 0) ++t.reuploads;
  return host_base_ + (addr - kDeviceBase);
}

const std::byte* GmArena::download_source(DeviceAddr addr, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  Block* block = find_locked(addr, bytes);
  if (block == nullptr) return nullptr;
  TagStats& t = stats_.tags[static_cast<size_t>(block->tag)];
  ++t.downloads;
  t.download_bytes += bytes;
  return host_base_ + (addr - kDeviceBase);
}

DeviceStats GmArena::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace chiprt::device

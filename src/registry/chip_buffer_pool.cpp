#include "chip_buffer_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "callable_device_bytes.h"
#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/callable.h"
#include "runtime/hbg/orchestration_sandbox.h"
#include "thrown_status.h"

namespace chiprt::registry {
namespace {

// Device bytes as a host span: a direct view on host-visible devices, else a copy in `scratch`.
Result<ByteSpan> read_device(Device& device, DeviceAddr addr, uint64_t size, Bytes& scratch) {
  if (const std::byte* direct = device.host_pointer(addr, size)) return ByteSpan(direct, size);
  scratch.resize(size);
  CHIPRT_RETURN_IF_ERROR(device.copy_from_device(scratch, addr));
  return ByteSpan(scratch);
}

bool equal(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace

const LoadedKernel* ChipBuffer::kernel(uint32_t func_id) const {
  auto it = std::lower_bound(kernels.begin(), kernels.end(), func_id,
                             [](const LoadedKernel& k, uint32_t id) { return k.func_id < id; });
  return it != kernels.end() && it->func_id == func_id ? &*it : nullptr;
}

const std::map<uint32_t, std::string>& ChipBuffer::kernel_names() const {
  static const std::map<uint32_t, std::string> kNone;
  return names ? *names : kNone;
}

void Lease::reset() noexcept {
  if (buffer_ != nullptr)
    std::exchange(pool_, nullptr)->return_lease(std::exchange(buffer_, nullptr));
}

ChipBufferPool::ChipBufferPool(Device& device, RuntimeKind runtime,
                               std::shared_ptr<CodeLoader> loader, IdentityHash identity_hash,
                               std::shared_ptr<CodeLoader> orchestration_loader)
    : device_(device),
      runtime_(runtime),
      loader_(loader ? std::move(loader) : device.code_loader()),
      orchestration_loader_(orchestration_loader ? std::move(orchestration_loader) : loader_),
      identity_hash_(identity_hash
                         ? std::move(identity_hash)
                         : IdentityHash([](const ImageView& v) { return v.content_hash(); })) {}

ChipBufferPool::~ChipBufferPool() {
  release_all();
}

Result<ChipBuffer*> ChipBufferPool::acquire(const ImageView& image) {
  try {
    return acquire_or_throw(image);
  } catch (...) {
    return thrown_status(fmt::format("registering image '{}'", image.name()));
  }
}

Result<ChipBuffer*> ChipBufferPool::acquire_or_throw(const ImageView& image) {
  const ImageHash identity = identity_hash_(image);
  const Key key{identity, image.size()};
  std::vector<uint64_t> examined;  // generations of candidates whose bytes differ
  // Declared before the lock, so that on every way out (exceptions included) the lock is
  // released first and the pin returned after: returning a lease takes the lock.
  Lease pin;
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return !creating_.contains(key); });
    ChipBuffer* candidate = unexamined_locked(key, examined);
    if (candidate == nullptr) break;
    pin = lease_locked(candidate);
    lock.unlock();
    // Unlocked: a full comparison of up to the whole image must not hold up leases and
    // releases. The pin keeps the candidate's memory and code even if it is released meanwhile.
    if (same_bytes(*candidate, image)) {
      lock.lock();
      // Revives the candidate if its last registration went meanwhile (pinned, it is still
      // indexed and its release waits for the pin).
      ++candidate->refcount;
      return candidate;
    }
    examined.push_back(candidate->generation);
    pin.reset();
    lock.lock();  // buffers of the key may have come (or gone) meanwhile: look again
  }
  // No buffer holds these bytes, and none is being created: this call creates it.
  creating_.insert(key);
  lock.unlock();
  Result<Staged> staged = [&]() -> Result<Staged> {
    try {
      return stage(image, key);
    } catch (...) {
      // Unmark the key before the exception goes on: a stuck key would block every later
      // registration of the image, and release_all.
      lock.lock();
      creating_.erase(key);
      changed_.notify_all();
      throw;
    }
  }();
  lock.lock();
  creating_.erase(key);
  changed_.notify_all();
  if (!staged.ok()) return std::move(staged).status();
  return publish_locked(std::move(staged).value());
}

ChipBuffer* ChipBufferPool::unexamined_locked(const Key& key,
                                              const std::vector<uint64_t>& examined) const {
  for (auto [it, end] = index_.equal_range(key); it != end; ++it) {
    if (std::find(examined.begin(), examined.end(), it->second->generation) == examined.end()) {
      return it->second;
    }
  }
  return nullptr;
}

Result<ChipBufferPool::Staged> ChipBufferPool::stage(const ImageView& image, const Key& key) {
  CHIPRT_ASSIGN_OR_RETURN(std::unique_ptr<ChipBuffer> buffer, create(image, key.hash));
  ChipBuffer* raw = buffer.get();
  Staged staged;
  // The owner node first: from here on it owns the buffer, so a throw below destroys it.
  Owners owner;
  owner.emplace(raw, std::move(buffer));
  staged.owner_node = owner.extract(owner.begin());
  Index index;
  index.emplace(key, raw);
  staged.index_node = index.extract(index.begin());
  return staged;
}

ChipBuffer* ChipBufferPool::publish_locked(Staged staged) noexcept {
  ChipBuffer* raw = staged.index_node.mapped();
  raw->generation = next_generation_++;
  raw->refcount = 1;
  // Node insertions allocate nothing, and Key's ordering cannot throw.
  index_.insert(std::move(staged.index_node));
  buffers_.insert(std::move(staged.owner_node));
  ++counters_.buffers_created;
  return raw;
}

bool ChipBufferPool::same_bytes(const ChipBuffer& buffer, const ImageView& image) const {
  if (buffer.image_size != image.size() ||
      !equal(buffer.canonical_header, image.bytes().first(image.header_size())) ||
      buffer.signature != image.signature()) {
    return false;
  }
  // Host metadata like the signature: the kernel-name table never reaches the device.
  for (const ImageChild& child : image.children()) {
    const LoadedKernel* kernel = buffer.kernel(child.func_id);
    if (kernel == nullptr || kernel->name != child.name) return false;
  }
  Bytes scratch;
  const uint64_t image_from = callable_storage_begin(image, runtime_);
  if (runtime_ == RuntimeKind::hbg && !equal(buffer.host_orchestration, image.orchestration())) {
    return false;
  }
  const ByteSpan stored = image.bytes().subspan(image_from, image.code_end() - image_from);
  auto device_bytes =
      read_device(device_, buffer.memory.addr() + image.header_size(), stored.size(), scratch);
  return device_bytes.ok() && equal(*device_bytes, stored);
}

Result<std::unique_ptr<ChipBuffer>> ChipBufferPool::create(const ImageView& image,
                                                           const ImageHash& identity) {
  auto buffer = std::make_unique<ChipBuffer>();
  buffer->identity = identity;
  buffer->image_size = image.size();
  buffer->name = std::string(image.name());
  buffer->runtime = runtime_;
  buffer->orch_offset = image.orch_offset();
  buffer->orch_size = image.orch_size();
  buffer->canonical_header.assign(
      image.bytes().begin(), image.bytes().begin() + static_cast<ptrdiff_t>(image.header_size()));
  buffer->signature = image.signature();
  // hbg leaves the orchestration (and the padding after it) out: kernels move down to follow
  // the header directly. Both ends are 64-aligned, so kernel alignment is kept.
  const bool elide = runtime_ == RuntimeKind::hbg;
  const uint64_t storage_from = callable_storage_begin(image, runtime_);
  buffer->kernel_shift = storage_from - image.header_size();
  CHIPRT_ASSIGN_OR_RETURN(buffer->memory, device_.allocate(callable_device_bytes(image, runtime_),
                                                           MemoryTag::callable));
  const DeviceAddr base = buffer->memory.addr();

  // Patch a staged copy of the header only: resolved kernel addresses (and the elided flag).
  Bytes header = buffer->canonical_header;
  auto* staged = reinterpret_cast<chiprt_image_header_t*>(header.data());
  if (elide) staged->flags |= CHIPRT_IMAGE_FLAG_ORCH_ELIDED;
  auto* children = reinterpret_cast<chiprt_image_child_t*>(header.data() + sizeof *staged);
  for (uint32_t i = 0; i < staged->child_count; ++i) {
    children[i].resolved_device_addr = base + children[i].offset - buffer->kernel_shift;
  }
  // One upload: header, then storage straight from the caller's bytes (no second staging copy),
  // up to the last code object.
  const ByteSpan placement[] = {
      header, image.bytes().subspan(storage_from, image.code_end() - storage_from)};
  CHIPRT_RETURN_IF_ERROR(device_.upload(base, placement));
  if (elide) {
    buffer->host_orchestration.assign(image.orchestration().begin(), image.orchestration().end());
  }
  CHIPRT_RETURN_IF_ERROR(load_code(*buffer, image));
  return buffer;
}

Status ChipBufferPool::load_code(ChipBuffer& buffer, const ImageView& image) {
  Bytes scratch;
  const DeviceAddr base = buffer.memory.addr();
  ByteSpan orch_bytes = buffer.host_orchestration;
  if (runtime_ == RuntimeKind::tmr) {
    // The AICPU loads the orchestration from inside the single device copy.
    CHIPRT_ASSIGN_OR_RETURN(
        orch_bytes, read_device(device_, base + image.orch_offset(), image.orch_size(), scratch));
  }
  auto orch = orchestration_loader_->load(orch_bytes, CHIPRT_ORCH_ENTRY_SYMBOL);
  if (!orch.ok()) return std::move(orch).status().annotate("loading the orchestration");
  buffer.orchestration = std::move(orch).value();
  if (auto sandbox = runtime::sandbox_of(*buffer.orchestration)) {
    // Its own counts of loads and unloads are this worker's orchestration loads.
    std::lock_guard lock(mutex_);
    if (std::find(sandboxes_.begin(), sandboxes_.end(), sandbox) == sandboxes_.end()) {
      sandboxes_.push_back(std::move(sandbox));
    }
  }

  for (const ImageChild& child : image.children()) {
    const DeviceAddr addr = base + child.offset - buffer.kernel_shift;
    CHIPRT_ASSIGN_OR_RETURN(ByteSpan kernel_bytes, read_device(device_, addr, child.size, scratch));
    auto code = loader_->load(kernel_bytes, CHIPRT_KERNEL_ENTRY_SYMBOL);
    if (!code.ok()) {
      return std::move(code).status().annotate(
          fmt::format("loading kernel func_id {}", child.func_id));
    }
    buffer.kernels.push_back(
        {child.func_id, child.core, addr, child.size, std::move(code).value(), child.name});
  }
  std::sort(buffer.kernels.begin(), buffer.kernels.end(),
            [](const LoadedKernel& a, const LoadedKernel& b) { return a.func_id < b.func_id; });
  auto names = std::make_shared<std::map<uint32_t, std::string>>();
  for (const LoadedKernel& k : buffer.kernels) names->emplace_hint(names->end(), k.func_id, k.name);
  buffer.names = std::move(names);
  return Status::Ok();
}

std::unique_ptr<ChipBuffer> ChipBufferPool::unlink_locked(const ChipBuffer* buffer) {
  const Key key{buffer->identity, buffer->image_size};
  for (auto [it, end] = index_.equal_range(key); it != end; ++it) {
    if (it->second == buffer) {
      index_.erase(it);
      break;
    }
  }
  auto it = buffers_.find(buffer);
  std::unique_ptr<ChipBuffer> owned = std::move(it->second);
  buffers_.erase(it);
  if (release_hook_) release_hook_(owned->generation);
  return owned;
}

void ChipBufferPool::release(ChipBuffer* buffer) {
  std::unique_ptr<ChipBuffer> doomed;
  {
    std::lock_guard lock(mutex_);
    if (--buffer->refcount > 0) return;
    if (buffer->leases > 0) {
      // The last lease completes the release. Until then the buffer stays findable, so that
      // registering the same image again revives it instead of placing a second copy (I1).
      ++counters_.deferred_releases;
      return;
    }
    doomed = unlink_locked(buffer);
  }
  // Unload and free outside the lock: dlclose may take a while.
}

Lease ChipBufferPool::lease(ChipBuffer* buffer) {
  std::lock_guard lock(mutex_);
  return lease_locked(buffer);
}

Lease ChipBufferPool::lease_locked(ChipBuffer* buffer) noexcept {
  ++buffer->leases;
  ++total_leases_;
  return Lease(this, buffer);
}

void ChipBufferPool::return_lease(const ChipBuffer* buffer) noexcept {
  std::unique_ptr<ChipBuffer> doomed;
  std::lock_guard lock(mutex_);
  auto* mutable_buffer = buffers_.at(buffer).get();
  --mutable_buffer->leases;
  --total_leases_;
  if (mutable_buffer->leases == 0 && mutable_buffer->refcount == 0) doomed = unlink_locked(buffer);
  changed_.notify_all();
}

void ChipBufferPool::release_all() {
  Owners doomed;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return total_leases_ == 0 && creating_.empty(); });
    for (auto& [raw, owned] : buffers_) {
      if (release_hook_) release_hook_(owned->generation);
    }
    doomed.swap(buffers_);
    index_.clear();
  }
}

uint32_t ChipBufferPool::refcount(const ChipBuffer* buffer) const {
  std::lock_guard lock(mutex_);
  return buffer->refcount;
}

PoolStats ChipBufferPool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats out = counters_;
  out.sandboxes = sandboxes_;
  out.buffers_live = buffers_.size();
  for (const auto& [raw, owned] : buffers_) {
    if (owned->leases > 0) ++out.leased_buffers;
    ++out.refcount_histogram[owned->refcount];
  }
  return out;
}

}  // namespace chiprt::registry

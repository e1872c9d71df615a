// ChipBufferPool: one refcounted device buffer per distinct image on one device.
//
// Identity is (identity hash, size) confirmed by a full byte comparison, so a hash collision
// yields two buffers, never a shared one. The comparison runs outside the pool's lock, on a
// candidate pinned by a lease, so leases and releases never wait behind it. acquire() is
// all-or-nothing, exceptions included: whatever throws beneath it (the identity hook, the
// loader, the device, host memory) becomes an error with the pool exactly as before, because
// everything that can throw runs before a commit made of steps that cannot. The pool is the one
// owner of every refcount and lease count; all methods are thread-safe. Registrations of the
// same new image wait for the first one to finish creating its buffer, so an image is loaded
// once.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "chip_buffer.h"
#include "lease.h"

namespace chiprt::runtime {
class OrchestrationSandbox;
}

namespace chiprt::registry {

struct PoolStats {
  uint64_t buffers_live = 0;
  uint64_t buffers_created = 0;
  uint64_t deferred_releases = 0;
  uint64_t leased_buffers = 0;  // leases include the pin of a dedup comparison under way
  std::map<uint32_t, uint64_t> refcount_histogram;
  // The orchestration sandboxes that loaded this pool's orchestrations (hbg), which count
  // their own loads and unloads.
  std::vector<std::shared_ptr<runtime::OrchestrationSandbox>> sandboxes;
};

class ChipBufferPool {
 public:
  using IdentityHash = std::function<ImageHash(const ImageView&)>;

  // `orchestration_loader` loads orchestrations where the runtime runs them (hbg: its sandbox);
  // nullptr: `loader`, which loads everything else (nullptr: the device's).
  ChipBufferPool(Device& device, RuntimeKind runtime, std::shared_ptr<CodeLoader> loader,
                 IdentityHash identity_hash,
                 std::shared_ptr<CodeLoader> orchestration_loader = nullptr);
  ~ChipBufferPool();

  // Adds one reference to the buffer holding `image`, creating it on a miss. Never throws.
  Result<ChipBuffer*> acquire(const ImageView& image);
  // Drops one reference; at zero the buffer is released now, or when its last lease returns.
  void release(ChipBuffer* buffer);
  // A buffer with refcount > 0; the caller guarantees that (the registry holds its lock).
  Lease lease(ChipBuffer* buffer);
  // Releases every buffer whatever its refcount, after waiting for outstanding leases.
  void release_all();

  // Called with a buffer's generation as it is released (under the pool's lock, so it must not
  // call back into the pool): the executor drops what it cached for that buffer. Set once,
  // before any acquire().
  void set_release_hook(std::function<void(uint64_t generation)> hook) {
    release_hook_ = std::move(hook);
  }

  uint32_t refcount(const ChipBuffer* buffer) const;
  PoolStats stats() const;
  Device& device() const { return device_; }

 private:
  friend class Lease;
  struct Key {
    ImageHash hash;
    uint64_t size;
    friend bool operator<(const Key& a, const Key& b) {
      return std::tie(a.hash.high, a.hash.low, a.size) < std::tie(b.hash.high, b.hash.low, b.size);
    }
  };
  using Index = std::multimap<Key, ChipBuffer*>;
  using Owners = std::map<const ChipBuffer*, std::unique_ptr<ChipBuffer>>;
  // A created buffer with the container nodes that will hold it, allocated in advance so that
  // publishing it cannot throw.
  struct Staged {
    Index::node_type index_node;
    Owners::node_type owner_node;
  };

  Result<ChipBuffer*> acquire_or_throw(const ImageView& image);
  // The first indexed buffer of `key` whose generation is not in `examined`, or nullptr.
  ChipBuffer* unexamined_locked(const Key& key, const std::vector<uint64_t>& examined) const;
  Lease lease_locked(ChipBuffer* buffer) noexcept;
  Result<Staged> stage(const ImageView& image, const Key& key);
  ChipBuffer* publish_locked(Staged staged) noexcept;
  void return_lease(const ChipBuffer* buffer) noexcept;
  Result<std::unique_ptr<ChipBuffer>> create(const ImageView& image, const ImageHash& identity);
  Status load_code(ChipBuffer& buffer, const ImageView& image);
  // Reads only what is immutable once a buffer is published: safe unlocked on a pinned buffer.
  bool same_bytes(const ChipBuffer& buffer, const ImageView& image) const;
  // Unlinks a buffer whose refcount and leases are both zero; the caller destroys it unlocked.
  std::unique_ptr<ChipBuffer> unlink_locked(const ChipBuffer* buffer);

  Device& device_;
  const RuntimeKind runtime_;
  const std::shared_ptr<CodeLoader> loader_;
  const std::shared_ptr<CodeLoader> orchestration_loader_;
  const IdentityHash identity_hash_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Index index_;             // every buffer not yet unlinked (refcount 0: leased)
  std::set<Key> creating_;  // keys whose buffer is being created right now
  Owners buffers_;          // node-based, so a staged node goes in without allocating
  std::function<void(uint64_t)> release_hook_;
  std::vector<std::shared_ptr<runtime::OrchestrationSandbox>> sandboxes_;
  uint64_t next_generation_ = 1;
  uint64_t total_leases_ = 0;
  PoolStats counters_;
};

}  // namespace chiprt::registry

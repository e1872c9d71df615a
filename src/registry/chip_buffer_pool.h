// ChipBufferPool: one refcounted device buffer per distinct image on one device.
//
// Identity is (identity hash, size) confirmed by a full byte comparison, so a hash collision
// yields two buffers, never a shared one. acquire() is all-or-nothing. The pool is the one owner
// of every refcount and lease count; all methods are thread-safe. Registrations of the same new
// image wait for the first one to finish creating its buffer, so an image is loaded once.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "chip_buffer.h"
#include "lease.h"

namespace chiprt::registry {

struct PoolStats {
  uint64_t buffers_live = 0;
  uint64_t buffers_created = 0;
  uint64_t loads = 0;
  uint64_t unloads = 0;
  uint64_t deferred_releases = 0;
  uint64_t leased_buffers = 0;
  std::map<uint32_t, uint64_t> refcount_histogram;
};

class ChipBufferPool {
 public:
  using IdentityHash = std::function<ImageHash(const ImageView&)>;

  ChipBufferPool(Device& device, RuntimeKind runtime, std::shared_ptr<CodeLoader> loader,
                 IdentityHash identity_hash);
  ~ChipBufferPool();

  // Adds one reference to the buffer holding `image`, creating it on a miss.
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
  void return_lease(const ChipBuffer* buffer) noexcept;
  Result<std::unique_ptr<ChipBuffer>> create(const ImageView& image, const ImageHash& identity);
  Status load_code(ChipBuffer& buffer, const ImageView& image);
  bool same_bytes(const ChipBuffer& buffer, const ImageView& image);
  // Unlinks a buffer whose refcount and leases are both zero; the caller destroys it unlocked.
  std::unique_ptr<ChipBuffer> unlink_locked(const ChipBuffer* buffer);

  Device& device_;
  const RuntimeKind runtime_;
  const std::shared_ptr<CodeLoader> loader_;
  const IdentityHash identity_hash_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<Key, ChipBuffer*> index_;  // every buffer not yet unlinked (refcount 0: leased)
  std::set<Key> creating_;                 // keys whose buffer is being created right now
  std::unordered_map<const ChipBuffer*, std::unique_ptr<ChipBuffer>> buffers_;
  std::function<void(uint64_t)> release_hook_;
  uint64_t next_generation_ = 1;
  uint64_t total_leases_ = 0;
  PoolStats counters_;
};

}  // namespace chiprt::registry

// CodeCache: loaded code that no handle of the device names any more, kept loaded so that a
// later load of the same bytes takes it back instead of loading (memfd + dlopen) again: a test
// session registers, runs and unregisters the same few images over and over.
//
// An entry is found by the XXH3-128 hash and size of the bytes the load names in device memory
// and its entry symbol, and taken only when those bytes equal the entry's own copy byte for byte:
// a hash collision never runs other code. It holds no device memory: its bytes are a copy in
// this process, counted against the byte bound. Bounded by entries and by bytes (each load or
// unload brings the bounds of the worker that made it); beyond either, the least recently cached
// entries are unloaded. Code in use is never in the cache, so never evicted. A cached object
// whose code crashed the device went with the process; a fresh device starts empty.
//
// Thread safety: none; the device's channel thread alone uses it. It publishes its figures on
// the status page as they change.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "chiprt/image.h"
#include "device/protocol.h"

namespace chiprt::device_process {

class CodeCache {
 public:
  // Loaded code with what it was loaded from.
  struct Entry {
    ImageHash hash;
    std::string symbol;
    std::vector<std::byte> bytes;  // a copy of the object it was loaded from
    std::unique_ptr<LoadedCode> code;
    // The device's handle of the code: kept while it is cached, so that what the device learned
    // about its runs (how long they take) outlives a re-registration. 0: not handed out yet.
    uint64_t handle = 0;
  };

  explicit CodeCache(device::protocol::StatusPage::CodeCache& published) : published_(published) {}

  // The cached entry loaded from exactly `bytes` (whose hash is `hash`) with `symbol`, taken out
  // of the cache (a hit); or an entry without code (a miss), counted as one.
  Entry take(ByteSpan bytes, const ImageHash& hash, const std::string& symbol);
  // Caches `entry` within `bounds` (most recently cached first) and returns what no longer fits:
  // the least recently cached entries beyond a bound, or `entry` itself when it alone exceeds
  // the byte bound. Its caller unloads them.
  std::vector<Entry> put(Entry entry, const CodeCacheBounds& bounds);

  uint64_t entries() const { return lru_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  using Lru = std::list<Entry>;  // front: the most recently cached
  void publish();

  device::protocol::StatusPage::CodeCache& published_;
  Lru lru_;
  std::unordered_multimap<uint64_t, Lru::iterator> by_hash_;  // by the hash's low half
  uint64_t bytes_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace chiprt::device_process

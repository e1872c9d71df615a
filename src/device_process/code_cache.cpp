#include "code_cache.h"

#include <cstring>

namespace chiprt::device_process {

CodeCache::Entry CodeCache::take(ByteSpan bytes, const ImageHash& hash, const std::string& symbol) {
  auto [first, last] = by_hash_.equal_range(hash.low);
  for (auto it = first; it != last; ++it) {
    Entry& entry = *it->second;
    if (entry.hash != hash || entry.symbol != symbol || entry.bytes.size() != bytes.size() ||
        (!bytes.empty() && std::memcmp(entry.bytes.data(), bytes.data(), bytes.size()) != 0)) {
      continue;
    }
    Entry taken = std::move(entry);
    bytes_ -= taken.bytes.size();
    lru_.erase(it->second);
    by_hash_.erase(it);
    ++hits_;
    publish();
    return taken;
  }
  ++misses_;
  publish();
  return Entry{hash, symbol, {}, nullptr, 0};
}

std::vector<CodeCache::Entry> CodeCache::put(Entry entry, const CodeCacheBounds& bounds) {
  std::vector<Entry> out;
  if (!bounds.enabled() || entry.bytes.size() > bounds.bytes) {
    out.push_back(std::move(entry));
    return out;
  }
  bytes_ += entry.bytes.size();
  const uint64_t key = entry.hash.low;
  lru_.push_front(std::move(entry));
  by_hash_.emplace(key, lru_.begin());
  while (lru_.size() > bounds.entries || bytes_ > bounds.bytes) {
    auto oldest = std::prev(lru_.end());
    auto [first, last] = by_hash_.equal_range(oldest->hash.low);
    for (auto it = first; it != last; ++it) {
      if (it->second == oldest) {
        by_hash_.erase(it);
        break;
      }
    }
    bytes_ -= oldest->bytes.size();
    out.push_back(std::move(*oldest));
    lru_.erase(oldest);
    ++evictions_;
  }
  publish();
  return out;
}

void CodeCache::publish() {
  published_.entries.store(lru_.size(), std::memory_order_relaxed);
  published_.bytes.store(bytes_, std::memory_order_relaxed);
  published_.hits.store(hits_, std::memory_order_relaxed);
  published_.misses.store(misses_, std::memory_order_relaxed);
  published_.evictions.store(evictions_, std::memory_order_relaxed);
}

}  // namespace chiprt::device_process

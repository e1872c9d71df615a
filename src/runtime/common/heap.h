// Heap: the bounded intermediate-tensor heap of one run (tmr) or recording (hbg), as offsets into
// one device buffer of `capacity` bytes. First fit over a coalesced free list, 64-byte aligned
// blocks. It never grows: allocate() fails when nothing fits, and the caller decides whether to
// wait for frees (back-pressure) or give up. Not thread-safe: its owner guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>

namespace chiprt::runtime {

class Heap {
 public:
  static constexpr uint64_t kAlign = 64;
  explicit Heap(uint64_t capacity);

  static uint64_t block_size(uint64_t bytes) {
    return (bytes == 0 ? 1 : bytes + kAlign - 1) / kAlign * kAlign;
  }
  std::optional<uint64_t> allocate(uint64_t bytes);  // offset of a block of block_size(bytes)
  void free(uint64_t offset, uint64_t bytes);

  uint64_t capacity() const { return capacity_; }
  uint64_t used() const { return used_; }
  uint64_t peak() const { return peak_; }

 private:
  uint64_t capacity_;
  uint64_t used_ = 0;
  uint64_t peak_ = 0;
  std::map<uint64_t, uint64_t> free_;  // offset -> size, coalesced
};

}  // namespace chiprt::runtime

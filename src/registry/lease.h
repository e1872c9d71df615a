// Lease: a run's hold on a ChipBuffer. While any lease is out, the buffer's memory and code stay
// loaded even if its last registration is gone; returning the last lease completes the release.
#pragma once

#include <utility>

#include "chip_buffer.h"

namespace chiprt::registry {

class ChipBufferPool;

class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)),
        buffer_(std::exchange(other.buffer_, nullptr)) {}
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      reset();
      pool_ = std::exchange(other.pool_, nullptr);
      buffer_ = std::exchange(other.buffer_, nullptr);
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { reset(); }

  void reset() noexcept;
  const ChipBuffer& buffer() const { return *buffer_; }
  const ChipBuffer* operator->() const { return buffer_; }
  explicit operator bool() const { return buffer_ != nullptr; }

 private:
  friend class ChipBufferPool;
  Lease(ChipBufferPool* pool, const ChipBuffer* buffer) : pool_(pool), buffer_(buffer) {}
  ChipBufferPool* pool_ = nullptr;
  const ChipBuffer* buffer_ = nullptr;
};

}  // namespace chiprt::registry

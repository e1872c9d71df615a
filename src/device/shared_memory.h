// SharedMemory: an anonymous memfd mapped MAP_SHARED, so that the host and a device process see
// the same bytes. The file is sealed against shrinking, so neither side can truncate it under
// the other's mapping. Sole owner of its fd and mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "chiprt/status.h"

namespace chiprt::device {

class SharedMemory {
 public:
  // A new zero-filled memfd of `bytes` (reserved, not committed: pages cost memory once touched).
  static Result<std::unique_ptr<SharedMemory>> create(const char* name, uint64_t bytes);
  // Maps an inherited memfd (the device process side); the SharedMemory owns `fd`.
  static Result<std::unique_ptr<SharedMemory>> adopt(int fd);
  ~SharedMemory();
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;

  std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }

 private:
  SharedMemory(int fd, std::byte* data, uint64_t size) : fd_(fd), data_(data), size_(size) {}
  static Result<std::unique_ptr<SharedMemory>> map(int fd, uint64_t bytes);  // owns fd
  int fd_;
  std::byte* data_;
  uint64_t size_;
};

}  // namespace chiprt::device

#include "shared_memory.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chiprt::device {
namespace {

Status errno_status(std::string_view what) {
  return Status(StatusCode::unavailable, fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

Result<std::unique_ptr<SharedMemory>> SharedMemory::create(const char* name, uint64_t bytes) {
  const int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return errno_status("memfd_create");
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
    Status failed = errno_status(fmt::format("sizing {} bytes of shared memory", bytes));
    close(fd);
    return failed;
  }
  return map(fd, bytes);
}

Result<std::unique_ptr<SharedMemory>> SharedMemory::adopt(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status failed = errno_status("fstat of inherited shared memory");
    close(fd);
    return failed;
  }
  return map(fd, static_cast<uint64_t>(st.st_size));
}

Result<std::unique_ptr<SharedMemory>> SharedMemory::map(int fd, uint64_t bytes) {
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (data == MAP_FAILED) {
    Status failed = errno_status(fmt::format("mapping {} bytes of shared memory", bytes));
    close(fd);
    return failed;
  }
  return std::unique_ptr<SharedMemory>(new SharedMemory(fd, static_cast<std::byte*>(data), bytes));
}

SharedMemory::~SharedMemory() {
  munmap(data_, size_);
  close(fd_);
}

}  // namespace chiprt::device

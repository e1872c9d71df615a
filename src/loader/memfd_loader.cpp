// Loads shared objects from memory: memfd_create + write + dlopen("/proc/self/fd/N").
//
// The memfd stays open for as long as the code is loaded. glibc matches dlopen names against
// loaded objects, so closing it early would let a later load reuse the fd number, and with it
// the name, and receive the earlier object: stale code. Keeping it open makes every live name
// unique.
#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "chiprt/code_loader.h"

namespace chiprt {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Made before dlopen, so that an open object always has an owner that closes it: a handle left
// open past its fd would hand this object to a later load that reuses the fd number.
class MemfdLoadedCode final : public LoadedCode {
 public:
  explicit MemfdLoadedCode(std::unique_ptr<FileDescriptor> fd) : fd_(std::move(fd)) {}
  ~MemfdLoadedCode() override {
    if (handle_ != nullptr) dlclose(handle_);  // then fd_ closes
  }
  void adopt(void* handle) noexcept { handle_ = handle; }
  void set_entry(void* entry) noexcept { entry_ = entry; }
  void* entry() const override { return entry_; }
  void* symbol(const char* name) const override { return dlsym(handle_, name); }

 private:
  std::unique_ptr<FileDescriptor> fd_;
  void* handle_ = nullptr;
  void* entry_ = nullptr;
};

Status write_all(int fd, ByteSpan bytes) {
  const std::byte* cursor = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t written = write(fd, cursor, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      return Status(StatusCode::load_failed,
                    fmt::format("writing code to memfd: {}", std::strerror(errno)));
    }
    cursor += written;
    left -= static_cast<size_t>(written);
  }
  return Status::Ok();
}

// Every live load holds one fd; lift the soft limit so thousands of live loads fit.
void raise_fd_limit_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
    }
  });
}

class MemfdLoader final : public CodeLoader {
 public:
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override {
    raise_fd_limit_once();
    auto fd = std::make_unique<FileDescriptor>(memfd_create("chiprt-code", MFD_CLOEXEC));
    if (fd->get() < 0) {
      return Status(StatusCode::load_failed, fmt::format("memfd_create: {}", std::strerror(errno)));
    }
    CHIPRT_RETURN_IF_ERROR(write_all(fd->get(), shared_object));
    const std::string path = fmt::format("/proc/self/fd/{}", fd->get());
    auto code = std::make_unique<MemfdLoadedCode>(std::move(fd));
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = dlerror();
      return Status(StatusCode::load_failed, fmt::format("dlopen: {}", why ? why : "unknown"));
    }
    code->adopt(handle);  // closed by `code` on every way out from here
    void* entry = dlsym(handle, entry_symbol);
    if (entry == nullptr) {
      return Status(StatusCode::symbol_not_found,
                    fmt::format("entry symbol '{}' is not exported", entry_symbol));
    }
    code->set_entry(entry);
    return std::unique_ptr<LoadedCode>(std::move(code));
  }
};

}  // namespace

std::shared_ptr<CodeLoader> memfd_loader() {
  static const std::shared_ptr<CodeLoader> loader = std::make_shared<MemfdLoader>();
  return loader;
}

}  // namespace chiprt

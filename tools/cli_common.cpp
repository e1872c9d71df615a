#include "cli_common.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "interrupt.h"

namespace chiprt::cli {
namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // close(2)'s result; the descriptor is gone either way.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

}  // namespace

void fail(int exit_code, const Status& status) {
  throw CommandError{exit_code, status.to_string()};
}

Result<Bytes> read_file(const std::filesystem::path& path) {
  auto error = [&](std::string_view why) {
    return Status(StatusCode::io_error, fmt::format("cannot read {}: {}", path.string(), why));
  };
  auto check_type = [&](const struct stat& st) -> Status {
    if (!S_ISREG(st.st_mode)) {
      return error(fmt::format("not a regular file ({})", file_kind(st.st_mode)));
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxInputBytes) {
      return error(fmt::format("{} bytes is over the {} byte limit", st.st_size, kMaxInputBytes));
    }
    return Status::Ok();
  };
  // The type is checked before opening (a device or FIFO is never opened) and again on the open
  // descriptor (the path may have changed in between); O_NONBLOCK keeps a FIFO from blocking.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return error(std::strerror(errno));
  CHIPRT_RETURN_IF_ERROR(check_type(st));
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) return error(std::strerror(errno));
  if (::fstat(fd.get(), &st) != 0) return error(std::strerror(errno));
  CHIPRT_RETURN_IF_ERROR(check_type(st));
  Bytes bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error(std::strerror(errno));
    if (n == 0) return error("the file shrank while being read");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

Status write_file(const std::filesystem::path& path, ByteSpan bytes) {
  auto error = [&](int err) {
    return Status(StatusCode::io_error,
                  fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
  };
  // A regular file is written under a temporary name in the same folder, then renamed: an
  // interrupt or a failed write never leaves a partial file at `path`. Anything else that
  // exists there (/dev/null, a FIFO) is written in place, never replaced.
  struct stat existing {};
  const bool in_place = ::stat(path.c_str(), &existing) == 0 && !S_ISREG(existing.st_mode);
  static std::atomic<uint64_t> next{0};
  std::filesystem::path temp = path;
  if (!in_place) {
    temp.replace_filename(fmt::format(".{}.{}.{}.tmp", path.filename().string(), getpid(), next++));
  }
  PendingFile pending(in_place ? std::filesystem::path() : temp);
  FileDescriptor fd(::open(
      temp.c_str(),
      in_place ? (O_WRONLY | O_TRUNC | O_CLOEXEC) : (O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC),
      0666));
  if (fd.get() < 0) return error(errno);
  auto abandon = [&](int err) {
    if (!in_place) unlink(temp.c_str());
    return error(err);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon(errno);
    done += static_cast<size_t>(n);
  }
  if (fd.close() != 0) return abandon(errno);
  if (!in_place && ::rename(temp.c_str(), path.c_str()) != 0) return abandon(errno);
  return Status::Ok();
}

Result<ImageView> parse_image_file(ByteSpan bytes, const std::string& path) {
  auto view = ImageView::parse(bytes);
  if (!view.ok()) return std::move(view).status().annotate(path);
  return view;
}

void require_writable(const std::string& path) {
  namespace fs = std::filesystem;
  auto refuse = [&](std::string_view why) {
    fail(kExitBadInput,
         Status(StatusCode::io_error, fmt::format("cannot write {}: {}", path, why)));
  };
  if (path.empty()) refuse("empty path");
  std::error_code ec;
  const fs::path target(path);
  if (fs::is_directory(target, ec)) refuse("is a directory");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) refuse("no such directory");
  if (fs::exists(target, ec)) {
    if (::access(target.c_str(), W_OK) != 0) refuse(std::strerror(errno));
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    refuse(std::strerror(errno));
  }
}

CLI::Validator at_least(int64_t min) {
  return CLI::Validator(
      [min](std::string& text) -> std::string {
        const auto not_integer = [&] { return fmt::format("must be an integer, got '{}'", text); };
        if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-' ||
                              text[0] == '+')) {
          return not_integer();
        }
        char* end = nullptr;
        errno = 0;
        bool below = false;
        if (text[0] == '-') {
          const long long value = std::strtoll(text.c_str(), &end, 0);
          below = value < min;
        } else {
          const unsigned long long value = std::strtoull(text.c_str(), &end, 0);
          below = min > 0 && value < static_cast<unsigned long long>(min);
        }
        if (end != text.c_str() + text.size()) return not_integer();
        if (errno == ERANGE) return fmt::format("is out of range: {}", text);
        if (below) return fmt::format("must be at least {}, got {}", min, text);
        return {};
      },
      fmt::format(">={}", min));
}

CLI::Validator greater_than_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) {
          return fmt::format("must be a number, got '{}'", text);
        }
        if (!(value > 0)) return fmt::format("must be greater than 0, got {}", text);
        return {};
      },
      ">0");
}

std::filesystem::path examples_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (const char* env = std::getenv("CHIPRT_EXAMPLES")) return env;
  std::error_code ec;
  const auto top = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().parent_path();
  // The build tree's layout, else the installed one.
  const auto built = top / "examples" / "so";
  const auto installed = top / "share" / "chiprt" / "examples" / "so";
  return std::filesystem::is_directory(built, ec) || !std::filesystem::is_directory(installed, ec)
             ? built
             : installed;
}

}  // namespace chiprt::cli

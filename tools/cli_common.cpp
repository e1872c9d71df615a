#include "cli_common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace chiprt::cli {

void fail(int exit_code, const Status& status) {
  throw CommandError{exit_code, status.to_string()};
}

Result<Bytes> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::io_error, fmt::format("cannot open {}", path.string()));
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) return Status(StatusCode::io_error, fmt::format("cannot size {}", path.string()));
  Bytes bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return Status(StatusCode::io_error, fmt::format("cannot read {}", path.string()));
  }
  return bytes;
}

Status write_file(const std::filesystem::path& path, ByteSpan bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(reinterpret_cast<const char*>(bytes.data()),
                         static_cast<std::streamsize>(bytes.size()))) {
    return Status(StatusCode::io_error, fmt::format("cannot write {}", path.string()));
  }
  return Status::Ok();
}

std::filesystem::path examples_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (const char* env = std::getenv("CHIPRT_EXAMPLES")) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return exe.parent_path().parent_path() / "examples" / "so";
}

}  // namespace chiprt::cli

// Shared pieces of the chiprt CLI: exit codes, file I/O, error reporting, example discovery.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "chiprt/bytes.h"
#include "chiprt/image.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// Exit codes: 0 success, 1 the work failed, 2 bad input or usage.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Thrown inside a command to leave with a message on stderr and an exit code.
struct CommandError {
  int exit_code;
  std::string message;
};

[[noreturn]] void fail(int exit_code, const Status& status);
// The value, or a CommandError with `exit_code`.
template <typename T>
T take(Result<T> result, int exit_code = kExitFailure) {
  if (!result.ok()) fail(exit_code, result.status());
  return std::move(result).value();
}
inline void check(const Status& status, int exit_code = kExitFailure) {
  if (!status.ok()) fail(exit_code, status);
}

// Every input file the CLI reads goes through read_file: a regular file only (a directory, FIFO
// or device is io_error "not a regular file", and a FIFO never blocks), at most kMaxInputBytes.
inline constexpr uint64_t kMaxInputBytes = uint64_t{4} << 30;
Result<Bytes> read_file(const std::filesystem::path& path);
Status write_file(const std::filesystem::path& path, ByteSpan bytes);
// The validated view of `bytes`, read from `path`: an error names the file.
Result<ImageView> parse_image_file(ByteSpan bytes, const std::string& path);
// Usage check before any work: `path` names a file that can be created or overwritten (its
// directory exists and is writable, and it is not a directory). Else exits 2.
void require_writable(const std::string& path);

// CLI11 validators with one-line messages ("must be at least 1, got 0"; main() prints them as
// "chiprt: --opt must be ..."): an integer >= `min`, a number > 0.
CLI::Validator at_least(int64_t min);
CLI::Validator greater_than_zero();

// Directory holding the example .so files of this build (orch_*.so, kernel_*.so): the
// --examples option, else CHIPRT_EXAMPLES, else ../examples/so next to this executable.
std::filesystem::path examples_dir(const std::string& override_dir);

using Command = void (*)(CLI::App& app);
void add_pack_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_churn_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_graph_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_config_command(CLI::App& app);

}  // namespace chiprt::cli

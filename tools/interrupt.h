// Interrupts of the chiprt CLI: SIGINT and SIGTERM request a stop that the commands pass to
// their runs (RunArgs::stop) and check between steps; main() then exits 128 + the signal
// (130, 143) once the command has unwound, which finalizes its workers and reaps their device
// processes. Files the CLI writes are written to a temporary name in the same folder and
// renamed, so an interrupt never leaves a partial output.
//
// A command that does not return within kInterruptGrace of the signal (code that cannot be
// stopped, such as an hbg orchestration that spins on the host), and a second signal, end the
// process at once with the same exit code, after removing the temporary files being written.
#pragma once

#include <chrono>
#include <filesystem>
#include <stop_token>

namespace chiprt::cli {

inline constexpr auto kInterruptGrace = std::chrono::seconds(3);

// Installs the handlers (once; later calls do nothing).
void install_interrupt_handlers();
// Requested once SIGINT or SIGTERM arrived.
std::stop_token interrupt_token();
// The signal that interrupted the CLI, or 0.
int interrupt_signal();

// Registers a temporary file being written (removed if the process must end before it is
// renamed); unregisters it on destruction.
class PendingFile {
 public:
  explicit PendingFile(std::filesystem::path path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace chiprt::cli

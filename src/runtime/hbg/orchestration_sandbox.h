// OrchestrationSandbox: the process that runs a worker's hbg orchestrations (chiprt-sandbox), so
// that no image code ever runs in the host (I13). One per hbg worker (its orchestration loader,
// see orchestration_sandbox_loader()), started at its first load: one process per worker keeps
// a hung or crashing orchestration to its own worker's runs, and ends with the worker. It
// serves one request at a time.
//
// - load() sends an orchestration's bytes (host-private: never device memory, so I7 holds) and
//   returns code that names it there; destroying that code unloads it (and waits for the
//   sandbox to answer, so that its unload count is current).
// - record_orchestration() runs a loaded orchestration in the sandbox that loaded it and drives
// `sink` (the host's GraphRecorder) with
//   every call the orchestration made, as they come. It returns the entry's return code, or
//   orchestration_failed when the orchestration crashed, aborted, exited, broke the protocol
//   or missed a deadline (no call for `stall`, or longer than `run`): the process is then
//   killed and the next request starts a fresh one (code loaded in the old one is loaded
//   again, from the bytes the code keeps naming).
//
// Thread safety: every method may be called from any thread; requests are serialized.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chiprt/code_loader.h"
#include "chiprt/launch.h"
#include "chiprt/run.h"
#include "device/channel.h"
#include "process/child_process.h"
#include "runtime/common/kernel_table.h"
#include "runtime/common/orch_backend.h"

namespace chiprt::runtime {

// Where the sandbox executable is: $CHIPRT_SANDBOX_EXECUTABLE, else chiprt-sandbox beside the
// device executable.
std::string sandbox_executable();

struct RecordRequest {
  std::string name;  // the callable's, for log lines
  uint64_t heap_limit = 0;
  const KernelTable* kernels = nullptr;
  const RunArgs* args = nullptr;  // host tensors: dtype and shape are sent, never data
  // If set, gets the number of times the sandbox called the entry for this request, as the
  // sandbox counted them (added to what it holds).
  uint64_t* entry_calls = nullptr;
};

class SandboxLoader;

class OrchestrationSandbox : public std::enable_shared_from_this<OrchestrationSandbox> {
 public:
  static std::shared_ptr<OrchestrationSandbox> create();
  ~OrchestrationSandbox();
  OrchestrationSandbox(const OrchestrationSandbox&) = delete;
  OrchestrationSandbox& operator=(const OrchestrationSandbox&) = delete;

  // Loads the orchestration in `bytes`, which must outlive the returned code.
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan bytes);
  // Ends the process (the next load starts another); code loaded in it is loaded again when
  // used.
  void stop();

  // Code loads and unloads counted by the sandbox processes themselves (a reload after a
  // restart counts), as their replies reported them; a process that ended unloaded everything
  // it held by ending, so its loads count as unloads then.
  uint64_t loads() const;
  uint64_t unloads() const;
  // The running sandbox process, 0 when none runs (before the first load, after stop()).
  pid_t pid() const;

 private:
  class Code;
  OrchestrationSandbox() = default;
  Status start_locked();
  void stop_locked() noexcept;
  // Kills the process and returns why it is gone, for the request that saw it go.
  Status fail_locked(std::string what);
  friend std::shared_ptr<OrchestrationSandbox> sandbox_of(const LoadedCode&);
  friend Result<int32_t> record_orchestration(const LoadedCode&, const RecordRequest&, OrchBackend&,
                                              const Deadlines&);
  Result<int32_t> record(const Code& code, const RecordRequest& request, OrchBackend& sink,
                         const Deadlines& deadlines);
  Result<uint64_t> load_locked(ByteSpan bytes);
  Status ensure_loaded_locked(const Code& code);
  void unload(uint64_t handle, uint64_t epoch) noexcept;
  // Receives one frame within `timeout_ms`: false with `status` set when the process ended or
  // broke the protocol; false with status ok on a timeout.
  bool receive_locked(int timeout_ms, device::protocol::FrameHeader& header,
                      std::vector<std::byte>& payload, Status& status);
  // Takes the counts a reply ends with; false when they are malformed or go backwards.
  bool take_counts_locked(device::protocol::WireReader& r);

  mutable std::mutex mutex_;
  std::unique_ptr<process::ChildProcess> child_;
  std::unique_ptr<device::Channel> channel_;
  uint64_t epoch_ = 0;  // advances with every process started
  uint64_t next_request_ = 1;
  uint64_t reported_loads_ = 0;    // by the running process, in its last reply
  uint64_t reported_unloads_ = 0;  // likewise
  uint64_t ended_loads_ = 0;       // by processes that have ended
};

// Runs `code` (an orchestration an orchestration sandbox loaded, possibly through a wrapping
// loader) in its sandbox, driving `sink` with its calls; see the class comment.
Result<int32_t> record_orchestration(const LoadedCode& code, const RecordRequest& request,
                                     OrchBackend& sink, const Deadlines& deadlines);

// The sandbox behind a loader made by orchestration_sandbox_loader(), or nullptr.
std::shared_ptr<OrchestrationSandbox> sandbox_of(const CodeLoader& loader);
// The sandbox that loaded `code` (through any wrapping loader), or nullptr.
std::shared_ptr<OrchestrationSandbox> sandbox_of(const LoadedCode& code);

}  // namespace chiprt::runtime

// DeviceProcess: the host's side of one simulated chip's device process.
//
// start() spawns the device executable (posix_spawn, never a bare fork of a threaded host)
// with exactly three inherited fds: device memory, the status page and its end of the control
// channel. The channel (replies, allocation requests, orchestration logs, run completions) is
// read by the threads waiting for a reply, one at a time (the reader turn): the caller whose
// reply arrives is woken by the kernel itself, not by a second thread it would then have to
// wake. One supervisor thread per process watches the process through a pidfd and enforces
// each run's deadlines and stop requests (so does the reader, between messages).
//
// Loss is sticky: when the process dies (signal, any exit, killed from outside), breaks the
// protocol, or a run misses a deadline (the supervisor then kills it), every pending call fails
// at once (the run that missed its deadline with deadline_exceeded, all others with
// device_lost), the child is reaped, and every later call returns device_lost naming the
// original cause. A new DeviceProcess is the only way back (SimChip::reset()).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>

#include "channel.h"
#include "chiprt/device.h"
#include "chiprt/stall_report.h"
#include "process/child_process.h"
#include "shared_memory.h"

namespace chiprt::device {

// Where the device executable is: $CHIPRT_DEVICE_EXECUTABLE, else chiprt-device beside the
// running program or in its ../libexec/chiprt/, else the build tree's, else the installed one.
std::string device_executable();

class DeviceProcess {
 public:
  struct Config {
    ChipProfile profile;
    uint32_t execution_threads = 0;  // 0: the machine's hardware threads less one
    int memory_fd = -1;              // borrowed: the device memory memfd
  };
  // Serves the device's allocation requests (the host owns allocation).
  using Allocator = std::function<Result<DeviceBuffer>(uint64_t bytes, MemoryTag tag)>;

  static Result<std::unique_ptr<DeviceProcess>> start(const Config& config, Allocator allocator);
  // Asks the process to exit, kills it if it has not within a grace period, and reaps it;
  // pending calls fail. Idempotent.
  void shutdown();
  ~DeviceProcess() { shutdown(); }
  DeviceProcess(const DeviceProcess&) = delete;
  DeviceProcess& operator=(const DeviceProcess&) = delete;

  // Loads the shared object at [addr, addr + size) of device memory in the device process, or
  // takes the same code back from its code cache (within `cache`).
  Result<uint64_t> load(DeviceAddr addr, uint64_t size, const std::string& entry_symbol,
                        const CodeCacheBounds& cache);
  // Unloads, or leaves the code in the device's code cache (within `cache`).
  void unload(uint64_t handle, const CodeCacheBounds& cache) noexcept;
  // The device drops its replay of graph `graph_id` (protocol::Message::kForgetGraph).
  void forget_graph(uint32_t graph_id) noexcept {
    if (health().ok()) channel_->send(protocol::Message::kForgetGraph, graph_id);
  }
  // What the device publishes about itself (its replay cache, thread records).
  const protocol::StatusPage& status_page() const { return *status_; }
  // Sends a launch (`encode` writes the payload after the progress slot) and waits for its
  // completion or the loss of the device.
  // `label` tags the run's orchestration log lines.
  Result<LaunchResult> launch(protocol::Message type,
                              const std::function<void(protocol::WireWriter&)>& encode,
                              const Deadlines& deadlines, std::string label = {});

  Status health() const;
  pid_t pid() const { return pid_; }
  uint32_t execution_threads() const { return execution_threads_; }

 private:
  struct Call;
  DeviceProcess() = default;
  Result<std::vector<std::byte>> call(protocol::Message type, std::vector<std::byte> payload,
                                      std::shared_ptr<Call> state);
  void supervise();
  // Polls `fds` (a negative fd is skipped); false, the device lost, when polling itself fails.
  bool watch(std::span<pollfd> fds, int timeout_ms);
  // With the reader turn and mutex_ not held: handles one message from the device, or notices
  // its end, or waits at most timeout_ms for either; then checks the deadlines.
  void read_device(int timeout_ms);
  void handle(const protocol::FrameHeader& header, std::vector<std::byte>& payload);
  void check_deadlines();
  // Loses the device for a message no honest device sends; returns the loss.
  Status violation(std::string what);
  void reject(std::string what);  // the same, where nobody waits for the loss
  // Kills (if needed) and reaps the child, records why it is lost, fails every pending call
  // (run `late_run` with `late_code`: it missed a deadline or was cancelled; `late_stall`, if
  // given, is what it waited for, copied to its Deadlines::stall_report, and `late_detail` ends
  // its message).
  void lose(std::string cause, uint64_t late_run = 0, std::string late_why = {},
            StatusCode late_code = StatusCode::deadline_exceeded,
            const StallReport* late_stall = nullptr, std::string_view late_detail = {});
  // Asks the device's stall reporter to describe run `run` (progress slot `slot`), waits at
  // most StallReport::kSnapshotWait for the answer, and reads it (and the thread records) as
  // untrusted input. Without the answer the report names what the thread records show.
  StallReport snapshot_stall(uint64_t run, uint32_t slot);
  // The kernels of run `run` that the thread records show running (validated).
  std::vector<StallReport::Task> running_kernels(uint64_t run) const;
  std::string describe_activity(uint64_t run) const;
  // What changes whenever run `run` (in progress slot `slot`) makes progress: its completed
  // tasks (counted per batch of chains, see GraphRun) plus the kernels its threads are running
  // now, so a chain of tasks that each finish within the stall deadline is never taken for a
  // stall, however long the chain.
  uint64_t activity(uint64_t run, uint32_t slot) const;

  Allocator allocator_;
  std::unique_ptr<SharedMemory> status_memory_;
  const protocol::StatusPage* status_ = nullptr;
  protocol::StallSection* stall_ = nullptr;  // in the status page: the host writes requests
  std::mutex stall_mutex_;                   // one snapshot request at a time
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<process::ChildProcess> child_;
  pid_t pid_ = -1;
  int pidfd_ = -1;  // the child's
  uint32_t execution_threads_ = 0;
  std::thread supervisor_;

  std::mutex lose_mutex_;  // taken before mutex_, by lose() alone
  mutable std::mutex mutex_;
  std::condition_variable events_;  // a call completed, or the reader turn was handed back
  bool reading_ = false;            // a waiting caller holds the reader turn
  std::unordered_map<uint64_t, std::shared_ptr<Call>> calls_;
  uint64_t next_id_ = 1;
  std::vector<uint32_t> free_slots_;
  Status lost_;  // sticky
  bool stopping_ = false;
};

}  // namespace chiprt::device

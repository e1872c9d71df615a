// ChildProcess: one process chiprt starts (the device process, the orchestration sandbox), with
// the fds it inherits, and the thread that spawned it.
//
// Why a thread of its own: a child asks for SIGKILL when its parent dies (PR_SET_PDEATHSIG, see
// parent_death.h), and Linux sends it when the *thread* that spawned it ends. A worker may be
// created on a short-lived thread (a Python thread, a pool task); the child must not die with
// that thread. So spawn() runs posix_spawn on a thread that lives exactly as long as the
// ChildProcess. The child's argv gets the parent's pid appended, so that it can tell whether
// its parent died before it asked to be told (the race).
//
// The owner decides when the child ends: kill() sends SIGKILL, reap() waits for it (once;
// later calls return the same status). Destruction kills and reaps a child still running.
// Thread safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chiprt/status.h"

namespace chiprt::process {

class ChildProcess {
 public:
  // Starts `argv[0]` with `inherited[i]` as its fd 3 + i (every other fd closed) and argv plus
  // the parent's pid. `name` says what it is in messages ("the device process").
  static Result<std::unique_ptr<ChildProcess>> spawn(std::vector<std::string> argv,
                                                     const std::vector<int>& inherited,
                                                     std::string name);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }  // readable once the child has ended
  void kill() noexcept;
  // Waits for the child to end and returns its wait status.
  int reap() noexcept;
  bool reaped() const;

 private:
  ChildProcess() = default;
  void park();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::thread spawner_;
  std::mutex reap_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool reaped_ = false;
  int status_ = 0;
};

// "killed by signal 9 (KILL)", "exited with status 3".
std::string describe_exit(int wait_status);

}  // namespace chiprt::process

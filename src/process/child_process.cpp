#include "process/child_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>

#include "base/thread_name.h"

extern char** environ;

namespace chiprt::process {
namespace {

// A CLOEXEC duplicate at fd >= 10, so that the spawn's dup2 onto 3, 4, ... never has a source
// equal to its target (which would keep close-on-exec set).
int high_dup(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

}  // namespace

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return fmt::format("killed by signal {} ({})", sig,
                       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  }
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return "ended";
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(std::vector<std::string> argv,
                                                          const std::vector<int>& inherited,
                                                          std::string name) {
  std::unique_ptr<ChildProcess> child(new ChildProcess());
  std::vector<int> dups;
  for (int fd : inherited) dups.push_back(high_dup(fd));
  auto close_dups = [&] {
    for (int fd : dups) {
      if (fd >= 0) close(fd);
    }
  };
  for (int fd : dups) {
    if (fd < 0) {
      const std::string why = std::strerror(errno);
      close_dups();
      return Status(StatusCode::unavailable, fmt::format("duplicating {}'s fds: {}", name, why));
    }
  }
  argv.push_back(std::to_string(getpid()));
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  std::promise<int> spawned;
  auto result = spawned.get_future();
  child->spawner_ = std::thread([&, raw = child.get()] {
    name_this_thread("chiprt-spawn");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (size_t i = 0; i < dups.size(); ++i) {
      posix_spawn_file_actions_adddup2(&actions, dups[i], static_cast<int>(3 + i));
    }
    posix_spawn_file_actions_addclosefrom_np(&actions, static_cast<int>(3 + dups.size()));
    const int rc = posix_spawn(&raw->pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    spawned.set_value(rc);
    if (rc == 0) raw->park();
  });
  const int rc = result.get();
  close_dups();
  if (rc != 0) {
    child->spawner_.join();
    child->pid_ = -1;
    return Status(StatusCode::unavailable,
                  fmt::format("cannot start {} '{}': {}", name, argv[0], std::strerror(rc)));
  }
  child->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, child->pid_, 0));
  return child;
}

void ChildProcess::park() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return stop_; });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill();
    reap();
  }
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (spawner_.joinable()) spawner_.join();
  if (pidfd_ >= 0) close(pidfd_);
}

void ChildProcess::kill() noexcept {
  // A pidfd names this process alone, even once it is reaped and its pid is reused.
  if (pidfd_ >= 0) {
    syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
    return;
  }
  std::lock_guard lock(mutex_);
  if (!reaped_ && pid_ > 0) ::kill(pid_, SIGKILL);
}

int ChildProcess::reap() noexcept {
  std::lock_guard reaping(reap_mutex_);  // one waitpid at a time; kill() stays possible
  if (!reaped() && pid_ > 0) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    std::lock_guard lock(mutex_);
    status_ = status;
    reaped_ = true;
  }
  std::lock_guard lock(mutex_);
  return status_;
}

bool ChildProcess::reaped() const {
  std::lock_guard lock(mutex_);
  return reaped_;
}

}  // namespace chiprt::process

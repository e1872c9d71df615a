#include "echo_peer.h"

#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace chiprt::cli {

Result<EchoPeer> EchoPeer::start() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status(StatusCode::unavailable, std::string("socketpair: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 0);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 1);
  char cat[] = "/bin/cat";
  char* argv[] = {cat, nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, cat, &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    return Status(StatusCode::unavailable, std::string("spawning /bin/cat: ") + std::strerror(rc));
  }
  return EchoPeer(sv[0], pid);
}

EchoPeer::EchoPeer(EchoPeer&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), pid_(std::exchange(other.pid_, -1)) {}

EchoPeer::~EchoPeer() {
  if (fd_ >= 0) close(fd_);  // cat sees EOF and exits
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

Status EchoPeer::round_trip() {
  char frame[16] = {1};
  if (send(fd_, frame, sizeof frame, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof frame)) {
    return Status(StatusCode::io_error, "echo send failed");
  }
  size_t got = 0;
  while (got < sizeof frame) {
    const ssize_t n = recv(fd_, frame + got, sizeof frame - got, 0);
    if (n <= 0) return Status(StatusCode::io_error, "echo peer gone");
    got += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace chiprt::cli

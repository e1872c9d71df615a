#include "interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <set>
#include <thread>

namespace chiprt::cli {
namespace {

std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};  // the handler writes the signal number; the watcher reads it

struct State {
  std::stop_source stop;
  std::mutex mutex;
  std::set<std::filesystem::path> pending;
};
State& state() {
  static State s;
  return s;
}

// Async-signal-safe: records the signal and wakes the watcher thread.
void on_signal(int sig) {
  const int saved = errno;
  int expected = 0;
  g_signal.compare_exchange_strong(expected, sig);
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const ssize_t n = write(g_pipe[1], &byte, 1);
  errno = saved;
}

[[noreturn]] void end_now(int sig) {
  {
    std::lock_guard lock(state().mutex);
    for (const auto& path : state().pending) unlink(path.c_str());
  }
  _exit(128 + sig);
}

void watch() {
  constexpr int kGraceMs = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kInterruptGrace).count());
  bool stopping = false;
  for (;;) {
    pollfd signalled{g_pipe[0], POLLIN, 0};
    const int ready = poll(&signalled, 1, stopping ? kGraceMs : -1);
    if (ready < 0) continue;                   // EINTR
    if (ready == 0) end_now(g_signal.load());  // the command did not stop in time
    unsigned char byte = 0;
    if (read(g_pipe[0], &byte, 1) != 1) continue;
    if (stopping) end_now(g_signal.load());  // a second signal: the user insists
    stopping = true;
    state().stop.request_stop();
  }
}

}  // namespace

void install_interrupt_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe2(g_pipe, O_CLOEXEC) != 0) return;
    state();  // made before a signal can need it
    std::thread(watch).detach();
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  });
}

std::stop_token interrupt_token() {
  return state().stop.get_token();
}

int interrupt_signal() {
  return g_signal.load();
}

PendingFile::PendingFile(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::lock_guard lock(state().mutex);
  state().pending.insert(path_);
}

PendingFile::~PendingFile() {
  if (path_.empty()) return;
  std::lock_guard lock(state().mutex);
  state().pending.erase(path_);
}

}  // namespace chiprt::cli

#include "device_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/thread_name.h"
#include "launch_codec.h"

extern char** environ;

namespace chiprt::device {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::Message;
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kShutdownGrace = std::chrono::seconds(1);
constexpr int kTickMs = 50;  // deadline resolution

std::string errno_text() {
  return std::strerror(errno);
}

// A CLOEXEC duplicate at fd >= 10, so that the spawn's dup2 onto 3, 4 and 5 never has a source
// equal to its target (which would keep close-on-exec set).
int high_dup(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return fmt::format("killed by signal {} ({})", sig,
                       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  }
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  return "ended";
}

std::string seconds(std::chrono::milliseconds ms) {
  return fmt::format("{:g} s", static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace

std::string device_executable() {
  if (const char* env = std::getenv("CHIPRT_DEVICE_EXECUTABLE"); env && *env) return env;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate :
         {self.parent_path() / "chiprt-device",
          self.parent_path() / ".." / "libexec" / "chiprt" / "chiprt-device"}) {
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  // The one this library was built with (its build tree, else its install prefix).
  for (const char* built : {CHIPRT_DEVICE_BUILD_PATH, CHIPRT_DEVICE_INSTALL_PATH}) {
    if (access(built, X_OK) == 0) return built;
  }
  return CHIPRT_DEVICE_INSTALL_PATH;
}

struct DeviceProcess::Call {
  bool done = false;
  Status status;
  std::vector<std::byte> reply;
  // Runs only.
  bool run = false;
  uint32_t slot = 0;
  uint64_t progress = 0;
  Clock::time_point started;
  Clock::time_point last_progress;
  Deadlines deadlines;
  std::string label;
  std::unordered_map<DeviceAddr, DeviceBuffer> allocations;
};

Result<std::unique_ptr<DeviceProcess>> DeviceProcess::start(const Config& config,
                                                            Allocator allocator) {
  std::unique_ptr<DeviceProcess> process(new DeviceProcess());
  process->allocator_ = std::move(allocator);
  CHIPRT_ASSIGN_OR_RETURN(process->status_memory_,
                          SharedMemory::create("chiprt-status", sizeof(protocol::StatusPage)));
  auto* page = reinterpret_cast<protocol::StatusPage*>(process->status_memory_->data());
  page->magic = protocol::kStatusMagic;
  page->version = protocol::kVersion;
  process->status_ = page;
  for (uint32_t slot = protocol::kMaxRuns; slot > 0; --slot)
    process->free_slots_.push_back(slot - 1);

  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Status(StatusCode::unavailable, "socketpair: " + errno_text());
  }
  process->channel_ = std::make_unique<Channel>(sockets[0]);
  const int inherited[3] = {high_dup(config.memory_fd), high_dup(process->status_memory_->fd()),
                            high_dup(sockets[1])};
  close(sockets[1]);
  auto close_inherited = [&] {
    for (int fd : inherited) {
      if (fd >= 0) close(fd);
    }
  };
  if (inherited[0] < 0 || inherited[1] < 0 || inherited[2] < 0) {
    close_inherited();
    return Status(StatusCode::unavailable, "duplicating the device's fds: " + errno_text());
  }

  const std::string executable = device_executable();
  const ChipProfile& p = config.profile;
  std::vector<std::string> args = {executable,
                                   std::to_string(protocol::kVersion),
                                   p.name,
                                   std::to_string(p.aic_cores),
                                   std::to_string(p.aiv_cores),
                                   std::to_string(p.aicpu_threads),
                                   std::to_string(config.execution_threads)};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, inherited[0], protocol::kMemoryFd);
  posix_spawn_file_actions_adddup2(&actions, inherited[1], protocol::kStatusFd);
  posix_spawn_file_actions_adddup2(&actions, inherited[2], protocol::kControlFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, protocol::kControlFd + 1);
  const int spawned =
      posix_spawn(&process->pid_, executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close_inherited();
  if (spawned != 0) {
    process->pid_ = -1;
    return Status(StatusCode::unavailable,
                  fmt::format("cannot start the device process '{}': {} (set "
                              "CHIPRT_DEVICE_EXECUTABLE to its path)",
                              executable, std::strerror(spawned)));
  }
  process->pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, process->pid_, 0));

  // The device reports ready once its threads run; anything else is a failed start.
  pollfd ready{process->channel_->fd(), POLLIN, 0};
  protocol::FrameHeader header{};
  std::vector<std::byte> payload;
  const int waited =
      poll(&ready, 1, static_cast<int>(std::chrono::milliseconds(kStartTimeout).count()));
  if (waited != 1 || !process->channel_->receive(header, payload) ||
      header.type != Message::kReady) {
    process->lose("did not report ready");
    return Status(StatusCode::unavailable,
                  fmt::format("starting the device process: {}", process->health().message()));
  }
  protocol::WireReader reader(payload.data(), payload.size());
  reader.get<uint32_t>();  // AICPU threads
  process->execution_threads_ = reader.get<uint32_t>();
  process->supervisor_ = std::thread([raw = process.get()] {
    name_this_thread("chiprt-watch");
    raw->supervise();
  });
  return process;
}

void DeviceProcess::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (pid_ > 0 && !supervisor_.joinable()) lose("was shut down by the host");
  if (channel_) channel_->send(Message::kShutdown, 0);
  if (supervisor_.joinable()) supervisor_.join();
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
}

Status DeviceProcess::health() const {
  std::lock_guard lock(mutex_);
  return lost_;
}

Result<std::vector<std::byte>> DeviceProcess::call(Message type, std::vector<std::byte> payload,
                                                   std::shared_ptr<Call> state) {
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (!lost_.ok()) return lost_;
    id = next_id_++;
    calls_.emplace(id, state);
  }
  // A failed send means the device is gone: reading the channel then sees its end.
  channel_->send(type, id, payload);
  std::unique_lock lock(mutex_);
  while (!state->done) {
    if (reading_ || stopping_) {  // a stopping device is read by the supervisor, then lost
      events_.wait(lock);
      continue;
    }
    reading_ = true;
    lock.unlock();
    bool read = true;
    try {
      read_device(kTickMs);
    } catch (const std::exception&) {  // host memory: the frame stays for the next read
      read = false;
    }
    lock.lock();
    reading_ = false;
    events_.notify_all();  // the turn passes to another waiting caller, if any
    if (!read) events_.wait_for(lock, std::chrono::milliseconds(1));  // then try again
  }
  calls_.erase(id);
  if (state->run) free_slots_.push_back(state->slot);
  if (!state->status.ok()) return state->status;
  return std::move(state->reply);
}

Result<uint64_t> DeviceProcess::load(DeviceAddr addr, uint64_t size,
                                     const std::string& entry_symbol) {
  protocol::WireWriter w;
  w.put(addr).put(size).put_string(entry_symbol);
  CHIPRT_ASSIGN_OR_RETURN(auto reply,
                          call(Message::kLoad, std::move(w.bytes()), std::make_shared<Call>()));
  protocol::WireReader r(reply.data(), reply.size());
  const auto code = static_cast<StatusCode>(r.get<int32_t>());
  std::string message = r.get_string();
  const uint64_t handle = r.get<uint64_t>();
  if (!r.ok()) return Status(StatusCode::internal, "malformed load reply from the device");
  if (code != StatusCode::ok) return Status(code, std::move(message));
  return handle;
}

void DeviceProcess::unload(uint64_t handle) noexcept {
  if (health().ok()) channel_->send(Message::kUnload, handle);
}

Result<LaunchResult> DeviceProcess::launch(Message type,
                                           const std::function<void(protocol::WireWriter&)>& encode,
                                           const Deadlines& deadlines, std::string label) {
  auto state = std::make_shared<Call>();
  state->run = true;
  state->deadlines = deadlines;
  state->label = std::move(label);
  {
    std::lock_guard lock(mutex_);
    if (!lost_.ok()) return lost_;
    if (free_slots_.empty()) {
      return Status(StatusCode::resource_exhausted,
                    fmt::format("more than {} runs at once on one device", protocol::kMaxRuns));
    }
    state->slot = free_slots_.back();
    free_slots_.pop_back();
    state->progress = activity(0, state->slot);
    state->started = state->last_progress = Clock::now();
  }
  protocol::WireWriter w;
  w.put(state->slot);
  encode(w);
  auto reply = call(type, std::move(w.bytes()), state);
  if (!reply.ok()) return std::move(reply).status();
  protocol::WireReader r(reply->data(), reply->size());
  const auto code = static_cast<StatusCode>(r.get<int32_t>());
  std::string message = r.get_string();
  LaunchResult result;
  result.tasks = r.get<uint64_t>();
  result.peak_ring_occupancy = r.get<uint64_t>();
  result.peak_heap_bytes = r.get<uint64_t>();
  result.orchestration_calls = r.get<uint64_t>();
  result.outputs = protocol::get_tensors(r);
  result.trace = protocol::get_trace(r);
  if (!r.ok()) return Status(StatusCode::internal, "malformed run completion from the device");
  if (code != StatusCode::ok) return Status(code, std::move(message));
  std::lock_guard lock(mutex_);  // the supervisor no longer touches a completed call
  for (auto& [addr, buffer] : state->allocations) result.allocations.push_back(std::move(buffer));
  return result;
}

bool DeviceProcess::watch(std::span<pollfd> fds, int timeout_ms) {
  if (poll(fds.data(), fds.size(), timeout_ms) >= 0 || errno == EINTR) return true;
  lose("could not be watched: poll: " + errno_text());
  return false;
}

void DeviceProcess::read_device(int timeout_ms) {
  pollfd fds[2] = {{channel_->fd(), POLLIN, 0}, {pidfd_, POLLIN, 0}};
  if (!watch(fds, timeout_ms)) return;
  bool ended = fds[1].revents != 0;
  if (fds[0].revents != 0) {
    // Drain what the device said before looking at how it ended.
    protocol::FrameHeader header{};
    std::vector<std::byte> payload;
    if (channel_->receive(header, payload)) {
      handle(header, payload);
      return;
    }
    ended = true;
  }
  if (ended) {
    lose("");
    return;
  }
  check_deadlines();
}

void DeviceProcess::supervise() {
  Clock::time_point stop_by{};
  for (;;) {
    bool stopping, reads = false;
    {
      std::lock_guard lock(mutex_);
      if (!lost_.ok()) return;
      stopping = stopping_;
      // The channel is the waiting callers' to read. Once the host stops the device, callers
      // no longer take the reader turn: the supervisor takes it (when its holder hands it
      // back), as the channel's end of file also says the device exited.
      if (stopping && !reading_) reading_ = reads = true;
    }
    pollfd fds[2] = {{pidfd_, POLLIN, 0}, {reads ? channel_->fd() : -1, POLLIN, 0}};
    if (!watch(fds, kTickMs)) return;
    bool ended = fds[0].revents != 0;
    if (fds[1].revents != 0) {
      protocol::FrameHeader header{};
      std::vector<std::byte> payload;
      if (!channel_->receive(header, payload)) ended = true;
    }
    if (stopping) {
      if (stop_by == Clock::time_point{}) stop_by = Clock::now() + kShutdownGrace;
      if (ended || Clock::now() > stop_by) break;
      if (reads) {
        std::lock_guard lock(mutex_);
        reading_ = false;
      }
      continue;
    }
    if (ended) {
      // A waiting caller reads what the device said before it ended, then loses it.
      std::unique_lock lock(mutex_);
      events_.wait_for(lock, std::chrono::milliseconds(kTickMs),
                       [&] { return !lost_.ok() || calls_.empty(); });
      if (!lost_.ok()) return;
      if (!calls_.empty()) continue;
      lock.unlock();
      lose("");
      return;
    }
    check_deadlines();
  }
  lose("was shut down by the host");
}

void DeviceProcess::handle(const protocol::FrameHeader& header, std::vector<std::byte>& payload) {
  protocol::WireReader r(payload.data(), payload.size());
  switch (header.type) {
    case Message::kLoaded:
    case Message::kRunDone: {
      std::lock_guard lock(mutex_);
      auto it = calls_.find(header.id);
      if (it == calls_.end()) return;
      it->second->reply = std::move(payload);
      it->second->done = true;
      events_.notify_all();
      return;
    }
    case Message::kAlloc: {
      const uint64_t run = r.get<uint64_t>();
      const uint64_t bytes = r.get<uint64_t>();
      const auto tag = static_cast<MemoryTag>(r.get<uint32_t>() % kMemoryTagCount);
      // The device waits for this reply: host memory running out fails the allocation (the
      // buffer, if made, is freed again), it does not leave the request unanswered.
      DeviceAddr addr = 0;
      Status status;
      try {
        auto buffer = allocator_(bytes, tag);
        if (buffer.ok()) {
          std::lock_guard lock(mutex_);
          auto it = calls_.find(run);
          if (it != calls_.end()) {
            addr = buffer->addr();
            it->second->allocations.emplace(addr, std::move(*buffer));
          }
        } else {
          status = buffer.status();
        }
      } catch (const std::exception&) {
        addr = 0;
        status = Status(StatusCode::resource_exhausted, "host memory");
      }
      if (addr == 0 && status.ok()) status = Status(StatusCode::not_found, "run ended");
      protocol::WireWriter w;
      w.put(addr).put(static_cast<int32_t>(status.code())).put_string(status.message());
      channel_->send(Message::kAllocReply, header.id, w.bytes());
      return;
    }
    case Message::kFree: {
      const DeviceAddr addr = r.get<uint64_t>();
      DeviceBuffer doomed;
      std::lock_guard lock(mutex_);
      auto it = calls_.find(header.id);
      if (it == calls_.end()) return;
      auto found = it->second->allocations.find(addr);
      if (found == it->second->allocations.end()) return;
      doomed = std::move(found->second);
      it->second->allocations.erase(found);
      return;
    }
    case Message::kLog: {
      const std::string line = r.get_string();
      std::string label;
      {
        std::lock_guard lock(mutex_);
        if (auto it = calls_.find(header.id); it != calls_.end()) label = it->second->label;
      }
      try {
        spdlog::info("[{}, device run {}] {}", label.empty() ? "orchestration" : label, header.id,
                     line);
      } catch (const std::exception&) {  // a log line is not worth failing the reader for
      }
      return;
    }
    default:
      lose(fmt::format("broke the protocol (message type {})", static_cast<uint32_t>(header.type)));
  }
}

void DeviceProcess::check_deadlines() {
  uint64_t late_run = 0;
  std::string why;
  StatusCode code = StatusCode::deadline_exceeded;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (auto& [id, state] : calls_) {
      if (!state->run || state->done) continue;
      const uint64_t progress = activity(id, state->slot);
      if (progress != state->progress) {
        state->progress = progress;
        state->last_progress = now;
      }
      if (state->deadlines.stop.stop_requested()) {
        late_run = id;
        code = StatusCode::cancelled;
        why = fmt::format("run {} was cancelled", id);
      } else if (now - state->started > state->deadlines.run) {
        late_run = id;
        why = fmt::format("run {} exceeded its run deadline of {}", id,
                          seconds(state->deadlines.run));
      } else if (now - state->last_progress > state->deadlines.stall) {
        late_run = id;
        why = fmt::format("run {} made no progress for its stall deadline of {}", id,
                          seconds(state->deadlines.stall));
      }
      if (late_run != 0) break;
    }
  }
  if (late_run != 0) lose("was killed by the host: " + why, late_run, why, code);
}

uint64_t DeviceProcess::activity(uint64_t run, uint32_t slot) const {
  uint64_t signature = status_->progress[slot].load(std::memory_order_relaxed);
  const uint32_t used = std::min(status_->threads.load(), protocol::kMaxThreadRecords);
  for (uint32_t i = 0; i < used; ++i) {
    const protocol::ThreadRecord& t = status_->records[i];
    if (t.state.load(std::memory_order_acquire) != protocol::ThreadRecord::kernel ||
        t.run.load(std::memory_order_relaxed) != run) {
      continue;
    }
    signature += (t.task.load(std::memory_order_relaxed) + 1) * 0x9e3779b97f4a7c15ull;
  }
  return signature;
}

std::string DeviceProcess::describe_activity(uint64_t run) const {
  std::string out;
  const uint32_t used = std::min(status_->threads.load(), protocol::kMaxThreadRecords);
  for (int pass = 0; pass < 2 && out.empty(); ++pass) {
    for (uint32_t i = 0; i < used; ++i) {
      const protocol::ThreadRecord& t = status_->records[i];
      const uint32_t state = t.state.load(std::memory_order_acquire);
      if (state == protocol::ThreadRecord::idle) continue;
      const uint64_t record_run = t.run.load(std::memory_order_relaxed);
      if (pass == 0 && record_run != run) continue;
      out += out.empty() ? " while running " : "; ";
      if (state == protocol::ThreadRecord::orchestration) {
        out += fmt::format("the orchestration of run {}", record_run);
      } else {
        out += fmt::format("func_id {} on {} core {} (task {} of run {})", t.func_id.load(),
                           t.core_type.load() == CHIPRT_CORE_AIC ? "aic" : "aiv",
                           t.core_index.load(), t.task.load(), record_run);
      }
    }
  }
  return out;
}

void DeviceProcess::lose(std::string cause, uint64_t late_run, std::string late_why,
                         StatusCode late_code) {
  // One loss at a time: the reader that sees the device end must not record a plain loss while
  // the supervisor that killed it for a deadline is still reaping it.
  std::lock_guard losing(lose_mutex_);
  if (pidfd_ >= 0) syscall(SYS_pidfd_send_signal, pidfd_, SIGKILL, nullptr, 0);
  int status = 0;
  bool reaped_now = false;
  if (pid_ > 0) {
    std::lock_guard lock(mutex_);
    if (!reaped_) {
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = reaped_now = true;
    }
  }
  std::lock_guard lock(mutex_);
  if (!lost_.ok()) return;
  std::string process = fmt::format("the device process (pid {})", pid_);
  if (cause.empty()) cause = reaped_now ? describe_exit(status) : "ended";
  lost_ = Status(StatusCode::device_lost,
                 fmt::format("device lost: {} {}{}; reset() the device to use it again", process,
                             cause, describe_activity(0)));
  if (!stopping_) spdlog::debug("{}", lost_.message());
  for (auto& [id, state] : calls_) {
    if (state->done) continue;
    state->done = true;
    state->allocations.clear();
    if (id == late_run) {
      state->status = Status(late_code, fmt::format("{}{}; the device is lost until reset()",
                                                    late_why, describe_activity(id)));
    } else {
      state->status = Status(StatusCode::device_lost,
                             fmt::format("device lost: {} {}{}", process, cause,
                                         state->run ? describe_activity(id) : std::string()));
    }
  }
  events_.notify_all();
  channel_->shutdown();
}

}  // namespace chiprt::device

#include "device_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <set>

#include "base/thread_name.h"
#include "chiprt/abi/tensor.h"
#include "device/stall_page.h"
#include "launch_codec.h"
#include "process/child_process.h"

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

bool known_code(StatusCode code) {
  return status_code_name(code) != "unknown";
}

// Text from the device, cut to a length a message can carry.
std::string bounded(std::string text) {
  constexpr size_t kMaxText = 4096;
  if (text.size() > kMaxText) text.resize(kMaxText);
  return text;
}

// What is wrong with a run's outputs, or empty: each one names a distinct allocation the run
// asked the host for, with a known dtype, 1..4 positive dims and exactly its bytes, inside it.
std::string check_outputs(const std::vector<LaunchTensor>& outputs,
                          const std::unordered_map<DeviceAddr, DeviceBuffer>& lent) {
  std::set<std::string> names;
  std::set<DeviceAddr> used;
  for (const LaunchTensor& t : outputs) {
    const std::string name = bounded(t.name).substr(0, 64);
    auto it = lent.find(t.addr);
    if (it == lent.end()) {
      return fmt::format("output '{}' at 0x{:x} is no allocation the run asked for", name, t.addr);
    }
    if (t.name.empty() || !names.insert(t.name).second || !used.insert(t.addr).second) {
      return fmt::format("output '{}' is unnamed or named twice, or shares its allocation", name);
    }
    const uint64_t element = chiprt_dtype_size(t.dtype);
    bool fits = element != 0 && t.ndim >= 1 && t.ndim <= CHIPRT_MAX_DIMS;
    uint64_t bytes = element;
    for (uint32_t d = 0; fits && d < t.ndim; ++d) {
      fits = t.shape[d] > 0 &&
             !__builtin_mul_overflow(bytes, static_cast<uint64_t>(t.shape[d]), &bytes);
    }
    if (!fits || bytes != t.bytes || bytes > it->second.size()) {
      return fmt::format(
          "output '{}' claims {} bytes that its dtype and shape or its {}-byte "
          "allocation do not hold",
          name, t.bytes, it->second.size());
    }
  }
  return {};
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
  bool late = false;  // a deadline check is ending it (only one does)
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
  process->stall_ = &page->stall;
  for (uint32_t slot = protocol::kMaxRuns; slot > 0; --slot)
    process->free_slots_.push_back(slot - 1);

  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Status(StatusCode::unavailable, "socketpair: " + errno_text());
  }
  process->channel_ = std::make_unique<Channel>(sockets[0]);
  const ChipProfile& p = config.profile;
  const std::string executable = device_executable();
  auto child = process::ChildProcess::spawn(
      {executable, std::to_string(protocol::kVersion), p.name, std::to_string(p.aic_cores),
       std::to_string(p.aiv_cores), std::to_string(p.aicpu_threads),
       std::to_string(config.execution_threads)},
      {config.memory_fd, process->status_memory_->fd(), sockets[1]}, "the device process");
  close(sockets[1]);
  if (!child.ok()) {
    return Status(
        StatusCode::unavailable,
        fmt::format("{} (set CHIPRT_DEVICE_EXECUTABLE to its path)", child.status().message()));
  }
  process->child_ = std::move(child).value();
  process->pid_ = process->child_->pid();
  process->pidfd_ = process->child_->pidfd();

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
                                     const std::string& entry_symbol,
                                     const CodeCacheBounds& cache) {
  protocol::WireWriter w;
  w.put(addr).put(size).put_string(entry_symbol).put(cache.entries).put(cache.bytes);
  CHIPRT_ASSIGN_OR_RETURN(auto reply,
                          call(Message::kLoad, std::move(w.bytes()), std::make_shared<Call>()));
  protocol::WireReader r(reply.data(), reply.size());
  const auto code = static_cast<StatusCode>(r.get<int32_t>());
  std::string message = r.get_string();
  const uint64_t handle = r.get<uint64_t>();
  if (!r.ok() || !known_code(code)) return violation("a malformed load reply");
  if (code != StatusCode::ok) return Status(code, bounded(std::move(message)));
  if (handle == 0) return violation("a load reply with no handle");
  return handle;
}

void DeviceProcess::unload(uint64_t handle, const CodeCacheBounds& cache) noexcept {
  if (!health().ok()) return;
  try {
    // Answered: once this returns the device has unloaded (or cached) the code and counted it
    // (or is lost).
    protocol::WireWriter w;
    w.put(handle).put(cache.entries).put(cache.bytes);
    (void)call(Message::kUnload, std::move(w.bytes()), std::make_shared<Call>());
  } catch (const std::exception&) {  // host memory: the code stays loaded until the device ends
  }
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
  // Everything in the completion came from a process that runs user code: decoded within the
  // payload's bounds, host memory running out is a value, and every output must be an
  // allocation this run asked for, described exactly.
  LaunchResult result;
  StatusCode code = StatusCode::ok;
  std::string message;
  try {
    protocol::WireReader r(reply->data(), reply->size());
    code = static_cast<StatusCode>(r.get<int32_t>());
    message = r.get_string();
    result.tasks = r.get<uint64_t>();
    result.peak_ring_occupancy = r.get<uint64_t>();
    result.peak_heap_bytes = r.get<uint64_t>();
    result.orchestration_calls = r.get<uint64_t>();
    result.outputs = protocol::get_tensors(r);
    protocol::get_trace(r, result);
    result.findings = protocol::get_findings(r, result.findings_dropped, CheckReport::kMaxFindings);
    result.writes = protocol::get_writes(r, LaunchResult::kMaxCheckWrites);
    if (!r.ok() || !known_code(code)) return violation("a malformed run completion");
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::resource_exhausted, "host memory ran out reading a run completion");
  }
  if (code != StatusCode::ok) return Status(code, bounded(std::move(message)));
  std::string bad;
  {
    std::lock_guard lock(mutex_);  // the supervisor no longer touches a completed call
    bad = check_outputs(result.outputs, state->allocations);
    if (bad.empty()) {
      for (auto& [addr, buffer] : state->allocations) {
        result.allocations.push_back(std::move(buffer));
      }
    }
  }
  if (!bad.empty()) return violation(std::move(bad));
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
    if (const uint64_t length = channel_->oversized_length(); length != 0) {
      reject(fmt::format("a frame of {} bytes, over the {}-byte limit", length,
                         protocol::kMaxPayload));
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

Status DeviceProcess::violation(std::string what) {
  lose("broke the protocol: " + bounded(std::move(what)) + ", and the host killed it");
  return health();
}

void DeviceProcess::reject(std::string what) {
  (void)violation(std::move(what));
}

void DeviceProcess::handle(const protocol::FrameHeader& header, std::vector<std::byte>& payload) {
  protocol::WireReader r(payload.data(), payload.size());
  // Finds the call a message names, if it is one in flight of the expected kind.
  auto pending = [&](uint64_t id, bool run) -> std::shared_ptr<Call> {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second->done || it->second->run != run) return nullptr;
    return it->second;
  };
  switch (header.type) {
    case Message::kLoaded:
    case Message::kUnloaded:
    case Message::kRunDone: {
      const bool run = header.type == Message::kRunDone;
      {
        std::lock_guard lock(mutex_);
        if (auto call = pending(header.id, run)) {
          call->reply = std::move(payload);
          call->done = true;
          events_.notify_all();
          return;
        }
      }
      reject(fmt::format("a {} for call {}, which is no {} in flight",
                         run ? "run completion" : "load or unload reply", header.id,
                         run ? "run" : "load or unload"));
      return;
    }
    case Message::kAlloc: {
      const uint64_t run = r.get<uint64_t>();
      const uint64_t bytes = r.get<uint64_t>();
      const uint32_t tag = r.get<uint32_t>();
      bool known = false;
      {
        std::lock_guard lock(mutex_);
        known = pending(run, true) != nullptr;
      }
      if (!r.ok() || tag >= kMemoryTagCount || !known) {
        reject(
            fmt::format("an allocation request for run {} that is malformed or names no "
                        "run in flight",
                        run));
        return;
      }
      // The device waits for this reply: host memory running out fails the allocation (the
      // buffer, if made, is freed again), it does not leave the request unanswered.
      DeviceAddr addr = 0;
      Status status;
      try {
        auto buffer = allocator_(bytes, static_cast<MemoryTag>(tag));
        if (buffer.ok()) {
          std::lock_guard lock(mutex_);
          if (auto call = pending(run, true)) {
            addr = buffer->addr();
            call->allocations.emplace(addr, std::move(*buffer));
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
      {
        std::lock_guard lock(mutex_);
        auto call = pending(header.id, true);
        if (call && r.ok()) {
          if (auto found = call->allocations.find(addr); found != call->allocations.end()) {
            doomed = std::move(found->second);
            call->allocations.erase(found);
            return;
          }
        }
      }
      reject(fmt::format("a free of 0x{:x}, which run {} was not lent", addr, header.id));
      return;
    }
    case Message::kLog: {
      std::string line = r.get_string();
      std::string label;
      bool known = false;
      {
        std::lock_guard lock(mutex_);
        if (auto call = pending(header.id, true)) {
          label = call->label;
          known = true;
        }
      }
      if (!r.ok() || !known) {
        reject(fmt::format("a log line for run {}, which is not in flight", header.id));
        return;
      }
      try {
        spdlog::info("[{}, device run {}] {}", label.empty() ? "orchestration" : label, header.id,
                     bounded(std::move(line)));
      } catch (const std::exception&) {  // a log line is not worth failing the reader for
      }
      return;
    }
    default:
      reject(fmt::format("a message of unknown type {}", static_cast<uint32_t>(header.type)));
  }
}

void DeviceProcess::check_deadlines() {
  uint64_t late_run = 0;
  uint32_t late_slot = 0;
  bool stalled = false;
  std::string why;
  StatusCode code = StatusCode::deadline_exceeded;
  std::chrono::milliseconds stall_deadline{0};
  std::shared_ptr<const KernelNames> kernel_names;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (auto& [id, state] : calls_) {
      if (!state->run || state->done || state->late) continue;
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
        stalled = true;
        stall_deadline = state->deadlines.stall;
        kernel_names = state->deadlines.kernel_names;
        why = fmt::format("run {} made no progress for its stall deadline of {}", id,
                          seconds(state->deadlines.stall));
      }
      if (late_run != 0) {
        state->late = true;
        late_slot = state->slot;
        break;
      }
    }
  }
  if (late_run == 0) return;
  if (!stalled) return lose("was killed by the host: " + why, late_run, why, code);
  // What the run waits for, asked of the device before it is killed: its tasks may be stuck,
  // its stall reporter is not.
  StallReport stall;
  std::string detail;
  try {
    stall = snapshot_stall(late_run, late_slot);
    stall.stalled_for_s = static_cast<double>(stall_deadline.count()) / 1000.0;
    detail = ": " + describe_stall(stall, kernel_names.get());
  } catch (const std::exception&) {  // host memory: the run still fails, with less said
  }
  lose("was killed by the host: " + why, late_run, why, code, detail.empty() ? nullptr : &stall,
       detail);
}

std::vector<StallReport::Task> DeviceProcess::running_kernels(uint64_t run) const {
  std::vector<StallReport::Task> out;
  const uint32_t used = std::min(status_->threads.load(), protocol::kMaxThreadRecords);
  for (uint32_t i = 0; i < used; ++i) {
    const protocol::ThreadRecord& t = status_->records[i];
    if (t.state.load(std::memory_order_acquire) != protocol::ThreadRecord::kernel ||
        t.run.load(std::memory_order_relaxed) != run) {
      continue;
    }
    StallReport::Task task;
    task.task_id = t.task.load(std::memory_order_relaxed);
    task.func_id = t.func_id.load(std::memory_order_relaxed);
    task.core_type = t.core_type.load(std::memory_order_relaxed);
    task.state = StallReport::Task::State::running;
    task.core_known = true;
    task.core_index = t.core_index.load(std::memory_order_relaxed);
    if (task.core_type > CHIPRT_CORE_AIV) continue;  // not a core type: the page is untrusted
    out.push_back(task);
  }
  std::sort(out.begin(), out.end(), [](const StallReport::Task& a, const StallReport::Task& b) {
    return a.task_id < b.task_id;
  });
  return out;
}

StallReport DeviceProcess::snapshot_stall(uint64_t run, uint32_t slot) {
  std::lock_guard lock(stall_mutex_);
  stall_->run.store(run, std::memory_order_relaxed);
  const uint32_t request = stall_->request.load(std::memory_order_relaxed) + 1;
  stall_->request.store(request, std::memory_order_release);
  // Not FUTEX_PRIVATE_FLAG: the reporter waits on the word in the page both processes map.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&stall_->request), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
  const auto give_up = Clock::now() + StallReport::kSnapshotWait;
  bool answered = false;
  while (!(answered = stall_->answer.load(std::memory_order_acquire) == request) &&
         Clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  protocol::StallSnapshot copy{};
  if (answered) std::memcpy(&copy, &stall_->snapshot, sizeof(copy));
  const uint32_t orchestration = status_->orchestration[slot].load(std::memory_order_relaxed);
  return read_stall_snapshot(answered ? &copy : nullptr, run, orchestration, running_kernels(run));
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
  // The page is the device's to write, so read as untrusted: counts clamped, at most a few
  // records named, states outside the protocol skipped.
  constexpr size_t kNamed = 4;
  std::string out;
  const uint32_t used = std::min(status_->threads.load(), protocol::kMaxThreadRecords);
  for (int pass = 0; pass < 2 && out.empty(); ++pass) {
    size_t named = 0, more = 0;
    for (uint32_t i = 0; i < used; ++i) {
      const protocol::ThreadRecord& t = status_->records[i];
      const uint32_t state = t.state.load(std::memory_order_acquire);
      if (state != protocol::ThreadRecord::kernel &&
          state != protocol::ThreadRecord::orchestration) {
        continue;
      }
      const uint64_t record_run = t.run.load(std::memory_order_relaxed);
      if (pass == 0 && record_run != run) continue;
      if (named == kNamed) {
        ++more;
        continue;
      }
      ++named;
      out += out.empty() ? " while running " : "; ";
      if (state == protocol::ThreadRecord::orchestration) {
        out += fmt::format("the orchestration of run {}", record_run);
      } else {
        out += fmt::format("func_id {} on {} core {} (task {} of run {})", t.func_id.load(),
                           t.core_type.load() == CHIPRT_CORE_AIC ? "aic" : "aiv",
                           t.core_index.load(), t.task.load(), record_run);
      }
    }
    if (more > 0) out += fmt::format("; and {} more", more);
  }
  return out;
}

void DeviceProcess::lose(std::string cause, uint64_t late_run, std::string late_why,
                         StatusCode late_code, const StallReport* late_stall,
                         std::string_view late_detail) {
  // One loss at a time: the reader that sees the device end must not record a plain loss while
  // the supervisor that killed it for a deadline is still reaping it.
  std::lock_guard losing(lose_mutex_);
  int status = 0;
  bool reaped_now = false;
  bool killed_alive = false;  // the host, not a fault, ended it: say so, not "signal 9"
  if (child_ && !child_->reaped()) {
    // A process that is dying closes its channel before its exit status is there: wait a
    // little for the status before taking it for a live process the host must kill.
    pollfd ended{child_->pidfd(), POLLIN, 0};
    killed_alive = cause.empty() && child_->pidfd() >= 0 && poll(&ended, 1, 200) == 0;
    child_->kill();
    status = child_->reap();
    reaped_now = true;
  }
  std::lock_guard lock(mutex_);
  if (!lost_.ok()) return;
  const std::string who = fmt::format("the device process (pid {})", pid_);
  if (cause.empty()) {
    cause = !reaped_now    ? "ended"
            : killed_alive ? "was killed by the host: its control channel ended"
                           : process::describe_exit(status);
  }
  lost_ = Status(StatusCode::device_lost,
                 fmt::format("device lost: {} {}{}; reset() the device to use it again", who, cause,
                             describe_activity(0)));
  if (!stopping_) spdlog::debug("{}", lost_.message());
  for (auto& [id, state] : calls_) {
    if (state->done) continue;
    state->done = true;
    state->allocations.clear();
    if (id == late_run) {
      // The thread records first, then (a stall) what the run waited for.
      state->status = Status(late_code, fmt::format("{}{}{}; the device is lost until reset()",
                                                    late_why, describe_activity(id), late_detail));
      if (late_stall && state->deadlines.stall_report) {
        try {
          *state->deadlines.stall_report = *late_stall;
        } catch (const std::exception&) {  // host memory: the status still says it
        }
      }
    } else {
      state->status = Status(StatusCode::device_lost,
                             fmt::format("device lost: {} {}{}", who, cause,
                                         state->run ? describe_activity(id) : std::string()));
    }
  }
  events_.notify_all();
  channel_->shutdown();
}

}  // namespace chiprt::device

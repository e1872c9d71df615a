#include "runtime/hbg/orchestration_sandbox.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_set>
#include <utility>

#include "device/device_process.h"
#include "runtime/hbg/call_log.h"
#include "runtime/hbg/sandbox_protocol.h"

namespace chiprt::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using device::protocol::WireReader;
using device::protocol::WireWriter;
using sandbox::frame_type;
using sandbox::Message;
constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kLoadTimeout = std::chrono::seconds(60);

// How the process ended, as a predicate of "its sandbox process".
std::string ended_text(int wait_status) {
  const std::string how = process::describe_exit(wait_status);
  return how.starts_with("killed") ? "was " + how : how;
}

std::string seconds_text(std::chrono::milliseconds ms) {
  return fmt::format("{:g} s", static_cast<double>(ms.count()) / 1000.0);
}

}  // namespace

std::string sandbox_executable() {
  if (const char* env = std::getenv("CHIPRT_SANDBOX_EXECUTABLE"); env && *env) return env;
  return (std::filesystem::path(device::device_executable()).parent_path() / "chiprt-sandbox")
      .string();
}

// The sandbox codes alive in this process. A code's entry() is the code itself, as an opaque
// token that wrapping loaders pass on; recording accepts only a token found here.
struct LiveCodes {
  std::mutex mutex;
  std::unordered_set<const void*> codes;
};
LiveCodes& live_codes() {
  static LiveCodes live;
  return live;
}

// Code loaded in the sandbox: its handle there, for the process of `epoch`. The bytes are kept
// named (they live in the callable's buffer), so that a fresh process can load them again.
class OrchestrationSandbox::Code final : public LoadedCode {
 public:
  Code(std::shared_ptr<OrchestrationSandbox> owner, ByteSpan bytes, uint64_t handle, uint64_t epoch)
      : owner_(std::move(owner)), bytes_(bytes), handle_(handle), epoch_(epoch) {
    std::lock_guard lock(live_codes().mutex);
    live_codes().codes.insert(this);
  }
  ~Code() override {
    {
      std::lock_guard lock(live_codes().mutex);
      live_codes().codes.erase(this);
    }
    owner_->unload(handle_, epoch_);
  }
  void* entry() const override { return const_cast<Code*>(this); }
  void* symbol(const char*) const override { return nullptr; }

  const std::shared_ptr<OrchestrationSandbox> owner_;
  ByteSpan bytes_;
  // Guarded by the owner's mutex.
  mutable uint64_t handle_;
  mutable uint64_t epoch_;
};

std::shared_ptr<OrchestrationSandbox> OrchestrationSandbox::create() {
  return std::shared_ptr<OrchestrationSandbox>(new OrchestrationSandbox());
}

OrchestrationSandbox::~OrchestrationSandbox() {
  std::lock_guard lock(mutex_);
  stop_locked();
}

Status OrchestrationSandbox::start_locked() {
  if (child_) {
    // A process that ended while idle (killed from outside) is replaced, not blamed on the
    // next request.
    pollfd ended{child_->pidfd(), POLLIN, 0};
    if (poll(&ended, 1, 0) == 0) return Status::Ok();
    stop_locked();
  }
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Status(StatusCode::unavailable, fmt::format("socketpair: {}", std::strerror(errno)));
  }
  auto channel = std::make_unique<device::Channel>(sockets[0], sandbox::kMaxSandboxFrame);
  auto child =
      process::ChildProcess::spawn({sandbox_executable(), std::to_string(sandbox::kVersion)},
                                   {sockets[1]}, "the orchestration sandbox");
  close(sockets[1]);
  if (!child.ok()) {
    return Status(
        StatusCode::unavailable,
        fmt::format("{} (set CHIPRT_SANDBOX_EXECUTABLE to its path)", child.status().message()));
  }
  child_ = std::move(child).value();
  channel_ = std::move(channel);
  ++epoch_;
  device::protocol::FrameHeader header{};
  std::vector<std::byte> payload;
  Status status;
  const int wait_ms = static_cast<int>(std::chrono::milliseconds(kStartTimeout).count());
  if (!receive_locked(wait_ms, header, payload, status) ||
      static_cast<Message>(header.type) != Message::kReady) {
    const std::string why = status.ok() ? "did not report ready" : std::string(status.message());
    stop_locked();
    return Status(StatusCode::unavailable,
                  fmt::format("starting the orchestration sandbox: {}", why));
  }
  return Status::Ok();
}

void OrchestrationSandbox::stop_locked() noexcept {
  if (!child_) return;
  ended_loads_ += std::exchange(reported_loads_, 0);
  reported_unloads_ = 0;
  channel_->send(frame_type(Message::kShutdown), 0);
  channel_->shutdown();
  child_.reset();  // kills and reaps what did not exit at once
  channel_.reset();
}

Status OrchestrationSandbox::fail_locked(std::string what) {
  stop_locked();
  return Status(StatusCode::orchestration_failed, std::move(what));
}

bool OrchestrationSandbox::receive_locked(int timeout_ms, device::protocol::FrameHeader& header,
                                          std::vector<std::byte>& payload, Status& status) {
  pollfd fds[2] = {{channel_->fd(), POLLIN, 0}, {child_->pidfd(), POLLIN, 0}};
  int ready;
  do {
    ready = poll(fds, 2, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return false;
  if (ready > 0 && fds[0].revents != 0) {
    try {
      if (channel_->receive(header, payload)) return true;
    } catch (const std::bad_alloc&) {
      status = fail_locked("sent more than host memory could hold, and was killed");
      return false;
    }
    if (const uint64_t length = channel_->oversized_length(); length != 0) {
      status = fail_locked(fmt::format(
          "broke the protocol: a frame of {} bytes, over the {}-byte limit, and was killed", length,
          sandbox::kMaxSandboxFrame));
      return false;
    }
  }
  // The channel ended or the process did: how it ended is what the user needs.
  pollfd ended{child_->pidfd(), POLLIN, 0};
  const bool alive = poll(&ended, 1, 100) == 0;  // a channel closed by a live process
  child_->kill();
  const std::string how =
      alive ? std::string("closed its channel and was killed") : ended_text(child_->reap());
  status = fail_locked(how);
  return false;
}

Result<uint64_t> OrchestrationSandbox::load_locked(ByteSpan bytes) {
  CHIPRT_RETURN_IF_ERROR(start_locked());
  WireWriter w;
  w.put_array(bytes.data(), static_cast<uint32_t>(bytes.size()));
  const uint64_t request = next_request_++;
  channel_->send(frame_type(Message::kLoad), request, w.bytes());
  device::protocol::FrameHeader header{};
  std::vector<std::byte> payload;
  Status status;
  const int wait_ms = static_cast<int>(std::chrono::milliseconds(kLoadTimeout).count());
  if (!receive_locked(wait_ms, header, payload, status)) {
    if (status.ok()) stop_locked();
    return Status(StatusCode::load_failed,
                  fmt::format("loading the orchestration: its sandbox process {}",
                              status.ok() ? "did not answer, and was killed" : status.message()));
  }
  WireReader r(payload.data(), payload.size());
  const auto code = static_cast<StatusCode>(r.get<int32_t>());
  std::string message = r.get_string();
  const uint64_t handle = r.get<uint64_t>();
  if (static_cast<Message>(header.type) != Message::kLoaded || header.id != request ||
      !take_counts_locked(r) || status_code_name(code) == "unknown" ||
      (code == StatusCode::ok && handle == 0)) {
    stop_locked();
    return Status(StatusCode::load_failed,
                  "the orchestration sandbox broke the protocol answering a load; it was killed");
  }
  if (code != StatusCode::ok) {
    if (message.size() > sandbox::kMaxName) message.resize(sandbox::kMaxName);
    return Status(code, std::move(message));
  }
  return handle;
}

Result<std::unique_ptr<LoadedCode>> OrchestrationSandbox::load(ByteSpan bytes) {
  std::lock_guard lock(mutex_);
  CHIPRT_ASSIGN_OR_RETURN(const uint64_t handle, load_locked(bytes));
  return std::unique_ptr<LoadedCode>(
      std::make_unique<Code>(shared_from_this(), bytes, handle, epoch_));
}

Status OrchestrationSandbox::ensure_loaded_locked(const Code& code) {
  CHIPRT_RETURN_IF_ERROR(start_locked());
  if (code.epoch_ == epoch_) return Status::Ok();
  CHIPRT_ASSIGN_OR_RETURN(const uint64_t handle, load_locked(code.bytes_));
  code.handle_ = handle;
  code.epoch_ = epoch_;
  return Status::Ok();
}

bool OrchestrationSandbox::take_counts_locked(WireReader& r) {
  const uint64_t loads = r.get<uint64_t>();
  const uint64_t unloads = r.get<uint64_t>();
  // Counts only grow, and nothing is unloaded that was not loaded: anything else is a lie.
  if (!r.ok() || loads < reported_loads_ || unloads < reported_unloads_ || unloads > loads) {
    return false;
  }
  reported_loads_ = loads;
  reported_unloads_ = unloads;
  return true;
}

void OrchestrationSandbox::unload(uint64_t handle, uint64_t epoch) noexcept {
  std::lock_guard lock(mutex_);
  if (!child_ || epoch != epoch_) return;  // an ended process unloaded it by ending
  try {
    // Answered, so that the sandbox's unload count is current when the code's owner is gone.
    WireWriter w;
    w.put(handle);
    const uint64_t request = next_request_++;
    channel_->send(frame_type(Message::kUnload), request, w.bytes());
    device::protocol::FrameHeader header{};
    std::vector<std::byte> payload;
    Status status;
    const int wait_ms = static_cast<int>(std::chrono::milliseconds(kLoadTimeout).count());
    if (!receive_locked(wait_ms, header, payload, status)) {
      if (status.ok()) stop_locked();  // no answer: the process is killed, its code with it
      return;
    }
    WireReader r(payload.data(), payload.size());
    if (static_cast<Message>(header.type) != Message::kUnloaded || header.id != request ||
        !take_counts_locked(r)) {
      stop_locked();
    }
  } catch (const std::exception&) {  // host memory: the process goes, and its code with it
    stop_locked();
  }
}

Result<int32_t> record_orchestration(const LoadedCode& loaded, const RecordRequest& request,
                                     OrchBackend& sink, const Deadlines& deadlines) {
  const OrchestrationSandbox::Code* code = nullptr;
  {
    LiveCodes& live = live_codes();
    std::lock_guard lock(live.mutex);
    if (live.codes.contains(loaded.entry())) {
      code = static_cast<const OrchestrationSandbox::Code*>(loaded.entry());
    }
  }
  if (code == nullptr) {
    return Status(StatusCode::failed_precondition,
                  "the orchestration was not loaded by an orchestration sandbox");
  }
  return code->owner_->record(*code, request, sink, deadlines);
}

Result<int32_t> OrchestrationSandbox::record(const Code& loaded, const RecordRequest& request,
                                             OrchBackend& sink, const Deadlines& deadlines) {
  const Code* code = &loaded;
  std::lock_guard lock(mutex_);
  CHIPRT_RETURN_IF_ERROR(ensure_loaded_locked(*code));
  WireWriter w;
  w.put(code->handle_).put_string(request.name).put(request.heap_limit);
  const auto kernels = request.kernels->all();
  w.put(static_cast<uint32_t>(kernels.size()));
  for (const KernelRef& k : kernels) w.put(k.func_id).put(static_cast<uint32_t>(k.core));
  w.put(static_cast<uint32_t>(request.args->tensors.size()));
  for (const auto& [name, t] : request.args->tensors) {
    std::array<int64_t, CHIPRT_MAX_DIMS> dims{};
    for (size_t d = 0; d < t.shape.size() && d < dims.size(); ++d) dims[d] = t.shape[d];
    // A shape past 4 dims is sent as 5, which the sandbox's recorder refuses as the host's would.
    const auto ndim = static_cast<uint32_t>(std::min<size_t>(t.shape.size(), CHIPRT_MAX_DIMS + 1));
    w.put_string(name).put(t.dtype).put(ndim).put(dims);
  }
  w.put(static_cast<uint32_t>(request.args->scalars.size()));
  for (const auto& [name, value] : request.args->scalars) w.put_string(name).put(value);
  const uint64_t id = next_request_++;
  channel_->send(frame_type(Message::kRecord), id, w.bytes());

  const std::string who = request.name.empty()
                              ? std::string("the orchestration")
                              : fmt::format("the orchestration of '{}'", request.name);
  const auto started = Clock::now();
  auto last_progress = started;
  for (;;) {
    const auto now = Clock::now();
    if (deadlines.stop.stop_requested()) {
      stop_locked();
      return Status(StatusCode::cancelled,
                    fmt::format("{} was cancelled while it ran; its sandbox process was killed "
                                "(the device was not involved)",
                                who));
    }
    if (now - started > deadlines.run) {
      return fail_locked(
          fmt::format("{} ran longer than its run deadline of {}; its sandbox "
                      "process was killed",
                      who, seconds_text(deadlines.run)));
    }
    if (now - last_progress > deadlines.stall) {
      return fail_locked(
          fmt::format("{} stalled for {} (no call to the orchestration table); "
                      "its sandbox process was killed",
                      who, seconds_text(deadlines.stall)));
    }
    device::protocol::FrameHeader header{};
    std::vector<std::byte> payload;
    Status status;
    if (!receive_locked(50, header, payload, status)) {
      if (!status.ok()) {
        return Status(StatusCode::orchestration_failed,
                      fmt::format("{} failed: its sandbox process {}", who, status.message()));
      }
      continue;
    }
    const auto type = static_cast<Message>(header.type);
    Status bad;
    if (header.id != id || (type != Message::kCalls && type != Message::kRecorded)) {
      bad = Status(StatusCode::internal, "an unexpected message");
    } else if (type == Message::kCalls) {
      bad = apply_calls(payload.data(), payload.size(), sink);
      last_progress = Clock::now();
    } else {
      WireReader r(payload.data(), payload.size());
      const auto rc = r.get<int32_t>();
      const auto calls = r.get<uint64_t>();
      if (r.ok() && take_counts_locked(r)) {
        if (request.entry_calls != nullptr) *request.entry_calls += calls;
        return rc;
      }
      bad = Status(StatusCode::internal, "a malformed end of recording");
    }
    if (!bad.ok()) {
      return fail_locked(
          fmt::format("{} failed: its sandbox process broke the protocol ({}) "
                      "and was killed",
                      who, bad.message()));
    }
  }
}

class SandboxLoader final : public CodeLoader {
 public:
  explicit SandboxLoader(std::shared_ptr<OrchestrationSandbox> sandbox)
      : sandbox_(std::move(sandbox)) {}
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override {
    if (std::strcmp(entry_symbol, CHIPRT_ORCH_ENTRY_SYMBOL) != 0) {
      return Status(StatusCode::invalid_argument, "the orchestration sandbox loads orchestrations");
    }
    return sandbox_->load(shared_object);
  }
  const std::shared_ptr<OrchestrationSandbox>& sandbox() const { return sandbox_; }

 private:
  std::shared_ptr<OrchestrationSandbox> sandbox_;
};

void OrchestrationSandbox::stop() {
  std::lock_guard lock(mutex_);
  stop_locked();
}

std::shared_ptr<OrchestrationSandbox> sandbox_of(const CodeLoader& loader) {
  const auto* sandbox = dynamic_cast<const SandboxLoader*>(&loader);
  return sandbox ? sandbox->sandbox() : nullptr;
}

std::shared_ptr<OrchestrationSandbox> sandbox_of(const LoadedCode& loaded) {
  LiveCodes& live = live_codes();
  std::lock_guard lock(live.mutex);
  if (!live.codes.contains(loaded.entry())) return nullptr;
  return static_cast<const OrchestrationSandbox::Code*>(loaded.entry())->owner_;
}

uint64_t OrchestrationSandbox::loads() const {
  std::lock_guard lock(mutex_);
  return ended_loads_ + reported_loads_;
}

uint64_t OrchestrationSandbox::unloads() const {
  std::lock_guard lock(mutex_);
  return ended_loads_ + reported_unloads_;
}

pid_t OrchestrationSandbox::pid() const {
  std::lock_guard lock(mutex_);
  return child_ ? child_->pid() : 0;
}

}  // namespace chiprt::runtime

namespace chiprt {
std::shared_ptr<CodeLoader> orchestration_sandbox_loader() {
  return std::make_shared<runtime::SandboxLoader>(runtime::OrchestrationSandbox::create());
}
}  // namespace chiprt

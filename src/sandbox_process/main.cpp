// chiprt-sandbox: runs hbg orchestrations outside the host. Started by the host
// (OrchestrationSandbox) with its control channel on fd 3 and arguments: sandbox protocol
// version, the host's pid. It loads orchestrations from bytes the host sends (an anonymous memfd:
// never device memory), runs one recording at a time against a GraphRecorder of its own, which
// answers the orchestration, and reports every call to the host (call_log.h). It exits when the
// host says so or goes away, and is killed when the host dies (parent_death.h).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "chiprt/abi/orchestration.h"
#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "device/channel.h"
#include "process/parent_death.h"
#include "runtime/hbg/call_log.h"
#include "runtime/hbg/graph_recorder.h"
#include "runtime/hbg/sandbox_protocol.h"

// An orchestration that calls exit() ends the sandbox at once, with that status, as it ends the
// device process: no exit handlers of the sandbox run (they could hang, or a sanitizer's leak
// check could change the status). Exported to loaded code alone (see src/CMakeLists.txt).
extern "C" void exit(int status) noexcept {
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

namespace {

using namespace chiprt;
using device::protocol::WireReader;
using device::protocol::WireWriter;
using runtime::sandbox::frame_type;
using runtime::sandbox::Message;

class Sandbox {
 public:
  explicit Sandbox(device::Channel& channel) : channel_(channel) {}

  void serve() {
    device::protocol::FrameHeader header{};
    std::vector<std::byte> payload;
    while (channel_.receive(header, payload)) {
      WireReader in(payload.data(), payload.size());
      switch (static_cast<Message>(header.type)) {
        case Message::kLoad:
          load(header.id, in);
          break;
        case Message::kUnload:
          unload(header.id, in);
          break;
        case Message::kRecord:
          record(header.id, in);
          break;
        default:
          return;  // kShutdown, or a host that breaks the protocol: a host gone
      }
    }
  }

 private:
  void load(uint64_t request, WireReader& in) {
    const std::vector<std::byte> bytes = in.get_array<std::byte>();
    Status status;
    uint64_t handle = 0;
    if (!in.ok()) {
      status = Status(StatusCode::invalid_argument, "malformed load request");
    } else if (auto code = memfd_loader()->load(bytes, CHIPRT_ORCH_ENTRY_SYMBOL); code.ok()) {
      handle = next_handle_++;
      code_.emplace(handle, std::move(code).value());
      ++loads_;  // loaded: counted here
    } else {
      status = std::move(code).status();
    }
    WireWriter out;
    out.put(static_cast<int32_t>(status.code())).put_string(status.message()).put(handle);
    put_counts(out);
    channel_.send(frame_type(Message::kLoaded), request, out.bytes());
  }

  void unload(uint64_t request, WireReader& in) {
    const uint64_t handle = in.get<uint64_t>();
    if (auto it = code_.find(handle); in.ok() && it != code_.end()) {
      code_.erase(it);  // dlclose: the unload happens here, and is counted once it has
      ++unloads_;
    }
    WireWriter out;
    put_counts(out);
    channel_.send(frame_type(Message::kUnloaded), request, out.bytes());
  }

  void put_counts(WireWriter& out) const { out.put(loads_).put(unloads_); }

  void record(uint64_t request, WireReader& in) {
    const uint64_t handle = in.get<uint64_t>();
    const std::string name = in.get_string();
    const uint64_t heap_limit = in.get<uint64_t>();
    std::vector<runtime::KernelRef> kernels(in.get<uint32_t>());
    for (auto& k : kernels) {
      if (!in.ok()) break;
      k.func_id = in.get<uint32_t>();
      k.core = static_cast<CoreType>(in.get<uint32_t>());
    }
    RunArgs args;
    for (uint32_t n = in.get<uint32_t>(), i = 0; i < n && in.ok(); ++i) {
      std::string tensor = in.get_string();
      HostTensor t;
      t.dtype = in.get<uint32_t>();
      const uint32_t ndim = std::min(in.get<uint32_t>(), CHIPRT_MAX_DIMS);
      const auto dims = in.get<std::array<int64_t, CHIPRT_MAX_DIMS>>();
      t.shape.assign(dims.begin(), dims.begin() + ndim);
      args.tensors[std::move(tensor)] = std::move(t);
    }
    for (uint32_t n = in.get<uint32_t>(), i = 0; i < n && in.ok(); ++i) {
      std::string scalar = in.get_string();
      args.scalars[std::move(scalar)] = in.get<double>();
    }
    auto it = code_.find(handle);
    int32_t rc = CHIPRT_ORCH_FAILED;
    uint64_t entry_calls = 0;
    if (in.ok() && it != code_.end()) {
      runtime::GraphRecorder recorder(*no_device_, runtime::KernelTable(std::move(kernels)), name,
                                      args, heap_limit, /*check_input_bytes=*/false);
      runtime::CallLogger logger(recorder);
      Drain drain{*this, logger, request};
      ++entry_calls;  // counted at the call: the host reports it as the run's orchestration call
      rc = runtime::call_orchestration(it->second->entry(), drain);
      send_calls(request, logger);
    }
    WireWriter out;
    out.put(rc).put(entry_calls);
    put_counts(out);
    channel_.send(frame_type(Message::kRecorded), request, out.bytes());
  }

  // The logger, sending what it logged whenever it is due: the host sees progress while the
  // orchestration runs, and a log line before a crash that may follow it.
  struct Drain final : runtime::OrchBackend {
    Drain(Sandbox& s, runtime::CallLogger& l, uint64_t r) : sandbox(s), logger(l), request(r) {}
    template <typename F>
    int32_t after(F&& call) {
      const int32_t rc = call();
      if (logger.due()) sandbox.send_calls(request, logger);
      return rc;
    }
    int32_t get_tensor_arg(const char* n, chiprt_tensor_t* o) override {
      return after([&] { return logger.get_tensor_arg(n, o); });
    }
    int32_t get_scalar_arg(const char* n, double* o) override {
      return after([&] { return logger.get_scalar_arg(n, o); });
    }
    int32_t alloc_tensor(uint32_t d, uint32_t nd, const int64_t* s, chiprt_tensor_t* o) override {
      return after([&] { return logger.alloc_tensor(d, nd, s, o); });
    }
    int32_t alloc_output(const char* n, uint32_t d, uint32_t nd, const int64_t* s,
                         chiprt_tensor_t* o) override {
      return after([&] { return logger.alloc_output(n, d, nd, s, o); });
    }
    int32_t scope_begin() override {
      return after([&] { return logger.scope_begin(); });
    }
    int32_t scope_end() override {
      return after([&] { return logger.scope_end(); });
    }
    int32_t submit_task(const chiprt_task_t* t) override {
      return after([&] { return logger.submit_task(t); });
    }
    int32_t sync() override {
      return after([&] { return logger.sync(); });
    }
    void log(const char* m) override {
      after([&] {
        logger.log(m);
        return 0;
      });
    }
    Sandbox& sandbox;
    runtime::CallLogger& logger;
    uint64_t request;
  };

  void send_calls(uint64_t request, runtime::CallLogger& logger) {
    std::vector<std::byte> calls = logger.take();
    if (!calls.empty()) channel_.send(frame_type(Message::kCalls), request, calls);
  }

  device::Channel& channel_;
  std::shared_ptr<Device> no_device_ = create_null_device();  // recording places no memory
  std::map<uint64_t, std::unique_ptr<LoadedCode>> code_;
  uint64_t next_handle_ = 1;
  uint64_t loads_ = 0;
  uint64_t unloads_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strtoul(argv[1], nullptr, 10) != runtime::sandbox::kVersion) {
    std::fprintf(stderr,
                 "chiprt-sandbox: started with the wrong arguments or protocol version "
                 "(it is started by chiprt)\n");
    return 2;
  }
  if (!process::tie_to_parent(argv[2])) return 2;
  // A terminal's Ctrl-C reaches the whole foreground process group: it is the host's to handle.
  signal(SIGINT, SIG_IGN);
  device::Channel channel(runtime::sandbox::kChannelFd);
  if (!channel.send(frame_type(Message::kReady), 0)) return 0;
  Sandbox(channel).serve();
  std::fflush(nullptr);
  _exit(0);
}

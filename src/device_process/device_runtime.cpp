#include "device_runtime.h"

#include <fmt/format.h>
#include <unistd.h>

#include "device/launch_codec.h"
#include "run_memory.h"
#include "runtime/hbg/graph.h"
#include "runtime/scheduler/graph_run.h"
#include "runtime/tmr/tmr_run.h"
#include "status_recorder.h"

namespace chiprt::device_process {

using device::protocol::Message;
using device::protocol::WireReader;
using device::protocol::WireWriter;

struct DeviceRuntime::AllocWait {
  std::condition_variable replied;
  bool done = false;
  DeviceAddr addr = 0;
  Status status;
};

DeviceRuntime::DeviceRuntime(ChipProfile profile, device::Channel& channel,
                             device::SharedMemory& memory, device::protocol::StatusPage& status,
                             runtime::AicpuPool& aicpu, runtime::CorePool& cores)
    : profile_(std::move(profile)),
      channel_(channel),
      memory_(memory),
      status_(status),
      aicpu_(aicpu),
      cores_(cores),
      recorder_(std::make_unique<StatusRecorder>(status)) {}

DeviceRuntime::~DeviceRuntime() = default;

std::byte* DeviceRuntime::view(DeviceAddr addr, uint64_t bytes) const {
  const uint64_t size = memory_.size();
  if (addr < device::protocol::kDeviceBase) return nullptr;
  const uint64_t offset = addr - device::protocol::kDeviceBase;
  if (offset > size || bytes > size - offset) return nullptr;
  return memory_.data() + offset;
}

void DeviceRuntime::serve() {
  device::protocol::FrameHeader header{};
  std::vector<std::byte> payload;
  while (channel_.receive(header, payload)) {
    WireReader in(payload.data(), payload.size());
    switch (header.type) {
      case Message::kLoad:
        load(header.id, in);
        break;
      case Message::kUnload: {
        std::unique_ptr<LoadedCode> doomed;
        std::lock_guard lock(code_mutex_);
        if (auto it = code_.find(header.id); it != code_.end()) {
          doomed = std::move(it->second);
          code_.erase(it);
        }
        break;
      }
      case Message::kLaunchOrch:
        launch_orchestration(header.id, in);
        break;
      case Message::kLaunchGraph:
        launch_graph(header.id, in);
        break;
      case Message::kAllocReply:
        alloc_reply(header.id, in);
        break;
      case Message::kShutdown:
        return;
      default:
        return;  // a host that breaks the protocol is a host gone
    }
  }
}

void DeviceRuntime::load(uint64_t request, WireReader& in) {
  const DeviceAddr addr = in.get<uint64_t>();
  const uint64_t size = in.get<uint64_t>();
  const std::string symbol = in.get_string();
  Status status;
  uint64_t handle = 0;
  const std::byte* bytes = view(addr, size);
  if (!in.ok() || bytes == nullptr) {
    status = Status(StatusCode::invalid_argument,
                    fmt::format("code at 0x{:x} (+{}) is not in device memory", addr, size));
  } else {
    // The loader copies the bytes into its memfd: the code runs from what device memory held.
    auto code = memfd_loader()->load(ByteSpan(bytes, size), symbol.c_str());
    if (code.ok()) {
      std::lock_guard lock(code_mutex_);
      handle = next_handle_++;
      code_.emplace(handle, std::move(code).value());
    } else {
      status = std::move(code).status();
    }
  }
  WireWriter out;
  out.put(static_cast<int32_t>(status.code())).put_string(status.message()).put(handle);
  channel_.send(Message::kLoaded, request, out.bytes());
}

Result<runtime::KernelTable> DeviceRuntime::kernels(WireReader& in) const {
  const uint32_t count = in.get<uint32_t>();
  std::vector<runtime::KernelRef> refs;
  std::lock_guard lock(code_mutex_);
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    const auto k = in.get<device::protocol::WireKernel>();
    auto it = code_.find(k.handle);
    if (it == code_.end()) {
      return Status(
          StatusCode::not_found,
          fmt::format("kernel func_id {} names no code loaded on this device", k.func_id));
    }
    refs.push_back({k.func_id, static_cast<CoreType>(k.core), it->second->entry()});
  }
  return runtime::KernelTable(std::move(refs));
}

void DeviceRuntime::send_done(uint64_t run, const Result<LaunchResult>& result) {
  WireWriter out;
  const Status& status = result.ok() ? Status() : result.status();
  out.put(static_cast<int32_t>(status.code())).put_string(status.message());
  if (result.ok()) {
    out.put(result->tasks)
        .put(result->peak_ring_occupancy)
        .put(result->peak_heap_bytes)
        .put(result->orchestration_calls);
    device::protocol::put_tensors(out, result->outputs);
    device::protocol::put_trace(out, result->trace);
  } else {
    out.put(uint64_t{0}).put(uint64_t{0}).put(uint64_t{0}).put(uint64_t{0});
    device::protocol::put_tensors(out, {});
    device::protocol::put_trace(out, {});
  }
  channel_.send(Message::kRunDone, run, out.bytes());
}

bool DeviceRuntime::decoded(uint64_t run, const Result<runtime::KernelTable>& table, bool valid,
                            std::string_view what) {
  if (!table.ok()) {  // reported first: an unknown kernel stops decoding midway
    send_done(run, table.status());
    return false;
  }
  if (!valid) send_done(run, Status(StatusCode::internal, fmt::format("malformed {}", what)));
  return valid;
}

void DeviceRuntime::launch_orchestration(uint64_t run, WireReader& in) {
  const uint32_t slot = in.get<uint32_t>();
  runtime::TmrLaunch launch;
  const uint64_t orch_handle = in.get<uint64_t>();
  auto table = kernels(in);
  launch.inputs = device::protocol::get_tensors(in);
  const uint32_t scalars = in.get<uint32_t>();
  for (uint32_t i = 0; i < scalars && in.ok(); ++i) {
    std::string name = in.get_string();
    launch.scalars[name] = in.get<double>();
  }
  launch.limits.ring_slots = in.get<uint32_t>();
  launch.limits.heap_bytes = in.get<uint64_t>();
  launch.heap_addr = in.get<uint64_t>();
  launch.trace = in.get<uint8_t>() != 0;
  if (!decoded(run, table,
               in.ok() && slot < device::protocol::kMaxRuns && launch.limits.ring_slots > 0,
               "tmr launch")) {
    return;
  }
  launch.kernels = std::move(table).value();
  {
    std::lock_guard lock(code_mutex_);
    auto it = code_.find(orch_handle);
    if (it == code_.end()) {
      send_done(run,
                Status(StatusCode::not_found, "the orchestration is not loaded on this device"));
      return;
    }
    launch.orchestration = it->second->entry();
  }
  launch.log = [this, run](std::string_view line) {
    WireWriter out;
    out.put_string(line);
    channel_.send(Message::kLog, run, out.bytes());
  };
  std::atomic<uint64_t>* progress = &status_.progress[slot];
  aicpu_.post([this, run, progress, launch = std::move(launch)]() mutable {
    auto memory = std::make_shared<RunMemory>(*this, run);
    auto owned = std::make_unique<runtime::TmrRun>(*memory, cores_, std::move(launch));
    runtime::TmrRun* tmr = owned.get();
    tmr->observe(recorder_.get(), run, progress);
    tmr->on_finished(
        [this, run, memory, owned = std::shared_ptr<runtime::TmrRun>(std::move(owned))]() mutable {
          Result<LaunchResult> result = owned->result();
          owned.reset();  // every free of the run is sent before its completion
          send_done(run, result);
        });
    if (Status prepared = tmr->prepare(); !prepared.ok()) tmr->fail(std::move(prepared));
    recorder_->orchestration_begin(run);
    if (tmr->failed()) {
      tmr->close();
    } else {
      tmr->orchestrate();  // the run may be gone once this returns
    }
    recorder_->idle();
  });
}

void DeviceRuntime::launch_graph(uint64_t run, WireReader& in) {
  using runtime::DeviceGraphHeader;
  using runtime::DeviceGraphTask;
  const uint32_t slot = in.get<uint32_t>();
  const DeviceAddr graph_addr = in.get<uint64_t>();
  const uint64_t graph_bytes = in.get<uint64_t>();
  auto table = kernels(in);
  const std::vector<uint64_t> tensor_addrs = in.get_array<uint64_t>();
  const bool trace = in.get<uint8_t>() != 0;
  if (!decoded(run, table, in.ok() && slot < device::protocol::kMaxRuns, "graph launch")) return;
  // The graph is the host's, but it is read from device memory: check every count and index
  // before a core follows it.
  const std::byte* base = view(graph_addr, graph_bytes);
  const auto* header = reinterpret_cast<const DeviceGraphHeader*>(base);
  auto malformed = [&](std::string why) {
    send_done(run, Status(StatusCode::internal, "malformed device graph: " + why));
  };
  if (base == nullptr || graph_bytes < sizeof(DeviceGraphHeader) ||
      header->magic != runtime::kGraphMagic) {
    return malformed("header");
  }
  const uint64_t need = sizeof(DeviceGraphHeader) +
                        uint64_t{header->task_count} * sizeof(DeviceGraphTask) +
                        uint64_t{header->view_count} * sizeof(chiprt_param_t) +
                        uint64_t{header->ref_count} * sizeof(uint32_t) +
                        uint64_t{header->edge_count} * sizeof(uint32_t);
  if (need > graph_bytes) return malformed("sizes");
  const auto* tasks = reinterpret_cast<const DeviceGraphTask*>(base + sizeof(DeviceGraphHeader));
  const auto* views = reinterpret_cast<const chiprt_param_t*>(tasks + header->task_count);
  const auto* refs = reinterpret_cast<const uint32_t*>(views + header->view_count);
  const auto* successors = refs + header->ref_count;
  const uint32_t n = header->task_count;

  // Each task's parameters side by side (kernels take them as one array), expanded from the
  // graph's distinct values.
  struct Replay {
    explicit Replay(runtime::CorePool& cores, uint32_t n, bool trace)
        : graph(cores, n, runtime::GraphRun::Mode::fixed, trace) {}
    runtime::GraphRun graph;
    std::shared_ptr<const std::vector<chiprt_param_t>> params;
    std::vector<std::byte*> bases;
  };
  auto replay = std::make_unique<Replay>(cores_, n, trace);
  // Each tensor's host pointer once, then each distinct view's by its tensor's index.
  std::vector<std::byte*> tensor_bases(tensor_addrs.size());
  for (size_t i = 0; i < tensor_addrs.size(); ++i) tensor_bases[i] = view(tensor_addrs[i], 0);
  std::vector<std::byte*> view_bases(header->view_count, nullptr);
  for (uint32_t v = 0; v < header->view_count; ++v) {
    const chiprt_param_t& param = views[v];
    if (param.kind == CHIPRT_PARAM_SCALAR) continue;
    const uint64_t index = param.tensor.base - runtime::kHandleBase;
    if (index >= tensor_addrs.size()) return malformed("tensor index");
    view_bases[v] = tensor_bases[index];
    if (view_bases[v] == nullptr) return malformed("tensor address");
  }
  replay->bases.resize(header->ref_count);
  for (uint32_t r = 0; r < header->ref_count; ++r) {
    if (refs[r] >= header->view_count) return malformed("view index");
    replay->bases[r] = view_bases[refs[r]];
  }
  replay->params = expanded_params(header->graph_id, views, {refs, header->ref_count});
  for (uint32_t i = 0; i < n; ++i) {
    const DeviceGraphTask& t = tasks[i];
    if (t.first_param > header->ref_count || t.param_count > header->ref_count - t.first_param ||
        t.first_successor > header->edge_count ||
        t.successor_count > header->edge_count - t.first_successor) {
      return malformed(fmt::format("task {}", i));
    }
    for (uint32_t e = 0; e < t.successor_count; ++e) {
      if (successors[t.first_successor + e] >= n) return malformed(fmt::format("task {} edge", i));
    }
    const runtime::KernelRef* kernel = table->find(t.func_id);
    const runtime::TaskDesc desc{
        i,
        t.func_id,
        static_cast<CoreType>(t.core_type),
        kernel ? reinterpret_cast<chiprt_kernel_entry_fn>(const_cast<void*>(kernel->entry))
               : nullptr,
        t.param_count,
        replay->params->data() + t.first_param,
        replay->bases.data() + t.first_param};
    replay->graph.set_fixed(
        i, desc, t.dep_count,
        std::span<const uint32_t>(successors + t.first_successor, t.successor_count));
  }
  Replay* raw = replay.get();
  raw->graph.observe(recorder_.get(), run, &status_.progress[slot]);
  raw->graph.on_finished(
      [this, run, n, owned = std::shared_ptr<Replay>(std::move(replay))]() mutable {
        Status failure = owned->graph.failure();
        LaunchResult result;
        result.tasks = n;
        result.trace = owned->graph.take_trace();
        owned.reset();
        send_done(run, failure.ok() ? Result<LaunchResult>(std::move(result))
                                    : Result<LaunchResult>(std::move(failure)));
      });
  raw->graph.start_fixed();  // closes the run: it may be gone once this returns
}

std::shared_ptr<const std::vector<chiprt_param_t>> DeviceRuntime::expanded_params(
    uint32_t graph_id, const chiprt_param_t* views, std::span<const uint32_t> refs) {
  {
    std::lock_guard lock(expanded_mutex_);
    if (auto it = expanded_.find(graph_id); graph_id != 0 && it != expanded_.end()) {
      return it->second;
    }
  }
  auto params = std::make_shared<std::vector<chiprt_param_t>>(refs.size());
  for (size_t r = 0; r < refs.size(); ++r) (*params)[r] = views[refs[r]];
  if (graph_id == 0) return params;
  std::lock_guard lock(expanded_mutex_);
  const uint64_t bytes = refs.size() * sizeof(chiprt_param_t);
  if (expanded_bytes_ + bytes > kExpandedBytesLimit) {  // bounded: start over
    expanded_.clear();
    expanded_bytes_ = 0;
  }
  if (expanded_.emplace(graph_id, params).second) expanded_bytes_ += bytes;
  return params;
}

Result<DeviceAddr> DeviceRuntime::allocate(uint64_t run, uint64_t bytes, MemoryTag tag) {
  AllocWait wait;
  uint64_t request;
  {
    std::lock_guard lock(alloc_mutex_);
    request = next_request_++;
    alloc_waits_.emplace(request, &wait);
  }
  WireWriter out;
  out.put(run).put(bytes).put(static_cast<uint32_t>(tag));
  if (!channel_.send(Message::kAlloc, request, out.bytes())) _exit(0);  // the host is gone
  std::unique_lock lock(alloc_mutex_);
  wait.replied.wait(lock, [&] { return wait.done; });
  alloc_waits_.erase(request);
  if (!wait.status.ok()) return wait.status;
  return wait.addr;
}

void DeviceRuntime::alloc_reply(uint64_t request, WireReader& in) {
  const DeviceAddr addr = in.get<uint64_t>();
  const auto code = static_cast<StatusCode>(in.get<int32_t>());
  std::string message = in.get_string();
  std::lock_guard lock(alloc_mutex_);
  auto it = alloc_waits_.find(request);
  if (it == alloc_waits_.end()) return;
  AllocWait& wait = *it->second;
  if (addr == 0 || code != StatusCode::ok) {
    wait.status = Status(code == StatusCode::ok ? StatusCode::internal : code, std::move(message));
  }
  wait.addr = addr;
  wait.done = true;
  wait.replied.notify_all();
}

void DeviceRuntime::free(uint64_t run, DeviceAddr addr) {
  WireWriter out;
  out.put(addr);
  channel_.send(Message::kFree, run, out.bytes());
}

}  // namespace chiprt::device_process

#include "device_runtime.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "device/launch_codec.h"
#include "run_memory.h"
#include "runtime/hbg/graph.h"
#include "runtime/scheduler/graph_run.h"
#include "runtime/tmr/tmr_run.h"
#include "stall_reporter.h"
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
      recorder_(std::make_unique<StatusRecorder>(status)),
      stall_reporter_(std::make_unique<StallReporter>(status)),
      code_cache_(status.code_cache) {}

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
      case Message::kUnload:
        unload(header.id, in);
        break;
      case Message::kLaunchOrch:
        launch_orchestration(header.id, in);
        break;
      case Message::kLaunchGraph:
        launch_graph(header.id, in);
        break;
      case Message::kAllocReply:
        alloc_reply(header.id, in);
        break;
      case Message::kForgetGraph:
        forget_replay(header.id);
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
  CodeCacheBounds cache;
  cache.entries = in.get<uint32_t>();
  cache.bytes = in.get<uint64_t>();
  Status status;
  uint64_t handle = 0;
  const std::byte* bytes = view(addr, size);
  if (!in.ok() || bytes == nullptr) {
    status = Status(StatusCode::invalid_argument,
                    fmt::format("code at 0x{:x} (+{}) is not in device memory", addr, size));
  } else {
    const ByteSpan object(bytes, size);
    CodeCache::Entry code{{}, symbol, {}, nullptr, 0};
    const bool cacheable = cache.enabled() && size <= cache.bytes;
    if (cacheable) code = code_cache_.take(object, hash_bytes(object), symbol);
    if (!code.code) {
      // Loaded from a copy of what device memory held, kept when it may be cached: the cached
      // code is then exactly what its bytes say.
      if (cacheable) code.bytes.assign(object.begin(), object.end());
      auto loaded = memfd_loader()->load(cacheable ? ByteSpan(code.bytes) : object, symbol.c_str());
      if (loaded.ok()) {
        code.code = std::move(loaded).value();
        status_.code.loads.fetch_add(1, std::memory_order_relaxed);  // loaded: counted here
      } else {
        status = std::move(loaded).status();
      }
    }
    if (code.code) {
      // Cached code comes back under its handle: one object, one handle, never two at once.
      std::lock_guard lock(code_mutex_);
      if (code.handle == 0) code.handle = next_handle_++;
      handle = code.handle;
      code_.emplace(handle, std::move(code));
    }
  }
  WireWriter out;
  out.put(static_cast<int32_t>(status.code())).put_string(status.message()).put(handle);
  channel_.send(Message::kLoaded, request, out.bytes());
}

void DeviceRuntime::unload(uint64_t request, WireReader& in) {
  const uint64_t handle = in.get<uint64_t>();
  CodeCacheBounds cache;
  cache.entries = in.get<uint32_t>();
  cache.bytes = in.get<uint64_t>();
  CodeCache::Entry doomed;
  {
    std::lock_guard lock(code_mutex_);
    if (auto it = code_.find(handle); in.ok() && it != code_.end()) {
      doomed = std::move(it->second);
      code_.erase(it);
    }
  }
  std::vector<CodeCache::Entry> unloading;
  if (doomed.code && !doomed.bytes.empty()) {
    unloading = code_cache_.put(std::move(doomed), cache);  // what it does not keep
  } else if (doomed.code) {
    unloading.push_back(std::move(doomed));
  }
  for (CodeCache::Entry& entry : unloading) {
    {
      std::lock_guard runs_lock(tmr_runs_mutex_);
      tmr_runs_.erase(entry.handle);
    }
    entry.code.reset();  // dlclose: the unload happens here, and is counted once it has
    status_.code.unloads.fetch_add(1, std::memory_order_relaxed);
  }
  channel_.send(Message::kUnloaded, request);
}

Result<runtime::KernelTable> DeviceRuntime::kernels(WireReader& in,
                                                    std::vector<uint64_t>* handles) const {
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
    refs.push_back({k.func_id, static_cast<CoreType>(k.core), it->second.code->entry()});
    if (handles) handles->push_back(k.handle);
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
    device::protocol::put_trace(out, result->trace, result->edges, result->orchestration);
    device::protocol::put_findings(out, result->findings, result->findings_dropped);
    device::protocol::put_writes(out, result->writes);
  } else {
    out.put(uint64_t{0}).put(uint64_t{0}).put(uint64_t{0}).put(uint64_t{0});
    device::protocol::put_tensors(out, {});
    device::protocol::put_trace(out, {});
    device::protocol::put_findings(out, {}, 0);
    device::protocol::put_writes(out, {});
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
  launch.check = device::protocol::get_check(in);
  launch.device_memory = std::span<std::byte>(memory_.data(), memory_.size());
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
    launch.orchestration = it->second.code->entry();
  }
  launch.log = [this, run](std::string_view line) {
    WireWriter out;
    out.put_string(line);
    channel_.send(Message::kLog, run, out.bytes());
  };
  {
    std::lock_guard lock(tmr_runs_mutex_);
    // The entry is made here, so that the end of the run only updates it, and the code's
    // unload removes it.
    if (tmr_runs_[orch_handle].next_alone(kAloneBudget) && !launch.check.serial) {
      launch.alone_for = kAloneBudget;
    }
  }
  std::atomic<uint64_t>* progress = &status_.progress[slot];
  std::atomic<uint32_t>* orchestration = &status_.orchestration[slot];
  orchestration->store(static_cast<uint32_t>(StallReport::Orchestration::unknown),
                       std::memory_order_relaxed);
  aicpu_.post(
      [this, run, orch_handle, progress, orchestration, launch = std::move(launch)]() mutable {
        const auto started = std::chrono::steady_clock::now();
        auto memory = std::make_shared<RunMemory>(*this, run);
        auto owned = std::make_unique<runtime::TmrRun>(*memory, cores_, std::move(launch));
        runtime::TmrRun* tmr = owned.get();
        tmr->observe(recorder_.get(), run, progress, orchestration);
        stall_reporter_->add(run, *tmr);
        tmr->on_finished([this, run, orch_handle, started, memory,
                          owned = std::shared_ptr<runtime::TmrRun>(std::move(owned))]() mutable {
          stall_reporter_->remove(run);  // first: the run may be destroyed below
          {
            std::lock_guard lock(tmr_runs_mutex_);
            auto runs = tmr_runs_.find(orch_handle);
            if (runs != tmr_runs_.end())
              runs->second.last = std::chrono::steady_clock::now() - started;
          }
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

// A graph's replay, set up once per upload (graph_id) and reused by its later replays while
// none of them runs: the validated graph's nodes, descriptors and edges, each task's parameters
// side by side (kernels take them as one array) and the tensor pointers of the last launch.
struct DeviceRuntime::Replay {
  Replay(runtime::CorePool& cores, uint32_t tasks)
      : graph(cores, tasks, runtime::GraphRun::Mode::fixed, false) {}
  runtime::GraphRun graph;
  std::vector<chiprt_param_t> params;    // per ref
  std::vector<uint32_t> ref_tensors;     // per ref: its tensor's index, kNoTensor for scalars
  std::vector<uint32_t> successors;      // the graph's edges, copied out of device memory
  std::vector<std::byte*> bases;         // per ref, for tensor_addrs
  std::vector<uint64_t> tensor_addrs;    // of the launch the bases were made for
  std::vector<uint64_t> kernel_handles;  // the code it was set up with
  std::atomic<bool> running{false};      // a cached replay serves one run at a time
  // Its runs' durations, launch to last completion. Written before `running` is released, read
  // by the launch that claimed it next.
  RunHistory history;
  static constexpr uint32_t kNoTensor = ~0u;
  uint64_t cached_bytes = 0;  // bytes() when it was cached: what the cache counts for it
  // Host bytes it holds, by capacity (elements are under half of it: the run's nodes are a
  // cache line each), plus its map node and shared_ptr control block.
  uint64_t bytes() const {
    constexpr uint64_t kOverhead = 96;
    return sizeof(*this) - sizeof(graph) + graph.memory_bytes() + kOverhead +
           params.capacity() * sizeof(chiprt_param_t) + ref_tensors.capacity() * sizeof(uint32_t) +
           successors.capacity() * sizeof(uint32_t) + bases.capacity() * sizeof(std::byte*) +
           tensor_addrs.capacity() * sizeof(uint64_t) +
           kernel_handles.capacity() * sizeof(uint64_t);
  }
};

void DeviceRuntime::launch_graph(uint64_t run, WireReader& in) {
  const uint32_t slot = in.get<uint32_t>();
  const DeviceAddr graph_addr = in.get<uint64_t>();
  const uint64_t graph_bytes = in.get<uint64_t>();
  std::vector<uint64_t> kernel_handles;
  auto table = kernels(in, &kernel_handles);
  std::vector<uint64_t> tensor_addrs = in.get_array<uint64_t>();
  const bool trace = in.get<uint8_t>() != 0;
  const uint64_t replay_limit = in.get<uint64_t>();
  LaunchCheck check = device::protocol::get_check(in);
  if (!decoded(run, table,
               in.ok() && slot < device::protocol::kMaxRuns &&
                   (!check.serial || check.tensors.size() == tensor_addrs.size()),
               "graph launch")) {
    return;
  }
  const std::byte* base = view(graph_addr, graph_bytes);
  const auto* header = reinterpret_cast<const runtime::DeviceGraphHeader*>(base);
  if (base == nullptr || graph_bytes < sizeof(runtime::DeviceGraphHeader) ||
      header->magic != runtime::kGraphMagic) {
    return send_done(run, Status(StatusCode::internal, "malformed device graph: header"));
  }
  if (check.serial) {
    return launch_checked_graph(run, slot, *header, graph_bytes, *table, std::move(tensor_addrs),
                                trace, std::move(check));
  }
  std::shared_ptr<Replay> replay = cached_replay(header->graph_id, kernel_handles);
  const bool made_now = !replay;
  if (made_now) {
    auto made = prepare_replay(*header, graph_bytes, *table);
    if (!made.ok()) return send_done(run, made.status());
    replay = std::move(made).value();
    replay->kernel_handles = kernel_handles;
    replay->running.store(true);
  }
  if (Status placed = place_tensors(*replay, std::move(tensor_addrs)); !placed.ok()) {
    replay->running.store(false);
    return send_done(run, placed);
  }
  // Cached once complete, so that its bytes are counted whole.
  if (made_now) cache_replay(header->graph_id, replay, replay_limit);
  runtime::GraphRun& graph = replay->graph;
  graph.rearm_fixed(trace);
  graph.observe(recorder_.get(), run, &status_.progress[slot], &status_.orchestration[slot]);
  graph.set_orchestration(StallReport::Orchestration::replaying);
  stall_reporter_->add(run, graph);
  const auto launched = std::chrono::steady_clock::now();
  graph.on_finished([this, run, replay, launched]() mutable {
    stall_reporter_->remove(run);  // first: the next launch may re-arm the graph
    Status failure = replay->graph.failure();
    LaunchResult result;
    result.tasks = replay->graph.node_count();
    result.trace = replay->graph.take_trace();
    replay->history.last = std::chrono::steady_clock::now() - launched;
    replay->running.store(false, std::memory_order_release);  // the next replay may start
    replay.reset();
    send_done(run, failure.ok() ? Result<LaunchResult>(std::move(result))
                                : Result<LaunchResult>(std::move(failure)));
  });
  // This thread is running already, while the cores' threads must first wake: it runs the
  // graph's first ready tasks itself for a bounded time, then goes back to the channel. A graph
  // whose last run took less than that time it runs alone: the cores' threads are woken only
  // for what is left when the time is up.
  const bool alone = replay->history.next_alone(kHelpBudget);
  graph.start_fixed(!alone);  // closes the run: it may be gone once this returns
  cores_.help(kHelpBudget, alone);
}

void DeviceRuntime::launch_checked_graph(uint64_t run, uint32_t slot,
                                         const runtime::DeviceGraphHeader& header,
                                         uint64_t graph_bytes, const runtime::KernelTable& table,
                                         std::vector<uint64_t> tensor_addrs, bool trace,
                                         LaunchCheck check) {
  // Set up afresh, never cached: its run is armed for one schedule with a checker.
  auto made = prepare_replay(header, graph_bytes, table);
  if (!made.ok()) return send_done(run, made.status());
  std::shared_ptr<Replay> replay = std::move(made).value();
  std::shared_ptr<runtime::TaskChecker> checker;
  if (check.memcheck || check.poison != 0) {
    checker = std::make_shared<runtime::TaskChecker>(
        std::span<std::byte>(memory_.data(), memory_.size()), check.memcheck, check.poison);
    for (size_t i = 0; i < tensor_addrs.size(); ++i) {
      const LaunchCheck::Tensor& t = check.tensors[i];
      std::byte* host = view(tensor_addrs[i], t.bytes);
      if (host == nullptr) {
        return send_done(run,
                         Status(StatusCode::internal, "malformed device graph: tensor address"));
      }
      checker->add_tensor(runtime::kHandleBase + i, host, t.bytes, t.dtype, t.name, t.label,
                          t.fresh);
    }
  }
  if (Status placed = place_tensors(*replay, std::move(tensor_addrs)); !placed.ok()) {
    return send_done(run, placed);
  }
  runtime::GraphRun& graph = replay->graph;
  graph.rearm_fixed(trace);
  graph.observe(recorder_.get(), run, &status_.progress[slot], &status_.orchestration[slot]);
  graph.set_orchestration(StallReport::Orchestration::replaying);
  graph.check_with(checker.get(), check.seed);
  stall_reporter_->add(run, graph);
  graph.on_finished([this, run, replay, checker]() {
    stall_reporter_->remove(run);  // first: the run is destroyed with the last reference
    Status failure = replay->graph.failure();
    LaunchResult result;
    result.tasks = replay->graph.node_count();
    result.trace = replay->graph.take_trace();
    if (checker) {
      result.findings = checker->take_findings();
      result.findings_dropped = checker->dropped();
      result.writes = checker->take_writes();
    }
    send_done(run, failure.ok() ? Result<LaunchResult>(std::move(result))
                                : Result<LaunchResult>(std::move(failure)));
  });
  // One task at a time on an AICPU thread, not on the channel's.
  aicpu_.post([replay, checker]() {
    replay->graph.start_fixed(false);
    replay->graph.drive_checked();
  });
}

Status DeviceRuntime::place_tensors(Replay& replay, std::vector<uint64_t> tensor_addrs) const {
  if (replay.tensor_addrs == tensor_addrs) return Status::Ok();  // the tensors did not move
  std::vector<std::byte*> tensor_bases(tensor_addrs.size());
  for (size_t i = 0; i < tensor_addrs.size(); ++i) {
    tensor_bases[i] = view(tensor_addrs[i], 0);
    if (tensor_bases[i] == nullptr) {
      return Status(StatusCode::internal, "malformed device graph: tensor address");
    }
  }
  for (size_t r = 0; r < replay.ref_tensors.size(); ++r) {
    const uint32_t t = replay.ref_tensors[r];
    if (t != Replay::kNoTensor && t >= tensor_bases.size()) {
      return Status(StatusCode::internal, "malformed device graph: tensor index");
    }
    replay.bases[r] = t == Replay::kNoTensor ? nullptr : tensor_bases[t];
  }
  replay.tensor_addrs = std::move(tensor_addrs);
  return Status::Ok();
}

Result<std::shared_ptr<DeviceRuntime::Replay>> DeviceRuntime::prepare_replay(
    const runtime::DeviceGraphHeader& header, uint64_t graph_bytes,
    const runtime::KernelTable& table) {
  using runtime::DeviceGraphTask;
  // The graph is the host's, but it is read from device memory: check every count and index
  // before a core follows it.
  auto malformed = [](std::string why) {
    return Status(StatusCode::internal, "malformed device graph: " + why);
  };
  const uint64_t need = sizeof(runtime::DeviceGraphHeader) +
                        uint64_t{header.task_count} * sizeof(DeviceGraphTask) +
                        uint64_t{header.view_count} * sizeof(chiprt_param_t) +
                        uint64_t{header.ref_count} * sizeof(uint32_t) +
                        uint64_t{header.edge_count} * sizeof(uint32_t);
  if (need > graph_bytes) return malformed("sizes");
  const auto* tasks = reinterpret_cast<const DeviceGraphTask*>(&header + 1);
  const auto* views = reinterpret_cast<const chiprt_param_t*>(tasks + header.task_count);
  const auto* refs = reinterpret_cast<const uint32_t*>(views + header.view_count);
  const auto* successors = refs + header.ref_count;
  const uint32_t n = header.task_count;

  auto replay = std::make_shared<Replay>(cores_, n);
  replay->params.resize(header.ref_count);
  replay->ref_tensors.resize(header.ref_count);
  replay->bases.assign(header.ref_count, nullptr);
  replay->successors.assign(successors, successors + header.edge_count);
  for (uint32_t r = 0; r < header.ref_count; ++r) {
    if (refs[r] >= header.view_count) return malformed("view index");
    const chiprt_param_t& param = views[refs[r]];
    replay->params[r] = param;
    replay->ref_tensors[r] = Replay::kNoTensor;
    if (param.kind == CHIPRT_PARAM_SCALAR) continue;
    const uint64_t index = param.tensor.base - runtime::kHandleBase;
    if (index >= Replay::kNoTensor) return malformed("tensor index");
    replay->ref_tensors[r] = static_cast<uint32_t>(index);
  }
  for (uint32_t i = 0; i < n; ++i) {
    const DeviceGraphTask& t = tasks[i];
    if (t.first_param > header.ref_count || t.param_count > header.ref_count - t.first_param ||
        t.first_successor > header.edge_count ||
        t.successor_count > header.edge_count - t.first_successor) {
      return malformed(fmt::format("task {}", i));
    }
    const std::span<const uint32_t> out(replay->successors.data() + t.first_successor,
                                        t.successor_count);
    for (uint32_t s : out) {
      if (s >= n) return malformed(fmt::format("task {} edge", i));
    }
    const runtime::KernelRef* kernel = table.find(t.func_id);
    const runtime::TaskDesc desc{
        i,
        t.func_id,
        static_cast<CoreType>(t.core_type),
        kernel ? reinterpret_cast<chiprt_kernel_entry_fn>(const_cast<void*>(kernel->entry))
               : nullptr,
        t.param_count,
        replay->params.data() + t.first_param,
        replay->bases.data() + t.first_param};
    replay->graph.set_fixed(i, desc, t.dep_count, out);
  }
  return replay;
}

std::shared_ptr<DeviceRuntime::Replay> DeviceRuntime::cached_replay(
    uint32_t graph_id, const std::vector<uint64_t>& kernel_handles) {
  if (graph_id == 0) return nullptr;
  std::lock_guard lock(replays_mutex_);
  auto it = replays_.find(graph_id);
  if (it == replays_.end() || it->second->kernel_handles != kernel_handles) return nullptr;
  bool idle = false;
  if (!it->second->running.compare_exchange_strong(idle, true, std::memory_order_acquire)) {
    return nullptr;  // replayed concurrently: this run sets up a graph of its own
  }
  return it->second;
}

void DeviceRuntime::cache_replay(uint32_t graph_id, const std::shared_ptr<Replay>& replay,
                                 uint64_t limit_bytes) {
  if (graph_id == 0) return;
  std::lock_guard lock(replays_mutex_);
  auto [it, added] = replays_.try_emplace(graph_id, replay);
  if (!added) {
    if (it->second->running.load(std::memory_order_acquire)) return;  // keep the running one
    replay_bytes_ -= it->second->cached_bytes;
    it->second = replay;
  }
  replay->cached_bytes = replay->bytes();
  replay_bytes_ += replay->cached_bytes;
  replay_peak_bytes_ = std::max(replay_peak_bytes_, replay_bytes_);
  // Bounded: the oldest uploads go first (ids only grow), never the one just added.
  while (replay_bytes_ > limit_bytes && replays_.size() > 1) {
    auto oldest = replays_.begin();
    if (oldest->first == graph_id) oldest = std::next(oldest);
    replay_bytes_ -= oldest->second->cached_bytes;
    replays_.erase(oldest);
    ++replay_evictions_;
  }
  publish_replays();
}

void DeviceRuntime::forget_replay(uint64_t graph_id) {
  std::shared_ptr<Replay> doomed;  // a run still holding it keeps it until it finishes
  std::lock_guard lock(replays_mutex_);
  auto it = replays_.find(static_cast<uint32_t>(graph_id));
  if (it == replays_.end() || it->first != graph_id) return;
  replay_bytes_ -= it->second->cached_bytes;
  doomed = std::move(it->second);
  replays_.erase(it);
  ++replay_drops_;
  publish_replays();
}

void DeviceRuntime::publish_replays() {
  auto& out = status_.replays;
  out.entries.store(replays_.size(), std::memory_order_relaxed);
  out.bytes.store(replay_bytes_, std::memory_order_relaxed);
  out.peak_bytes.store(replay_peak_bytes_, std::memory_order_relaxed);
  out.evictions.store(replay_evictions_, std::memory_order_relaxed);
  out.drops.store(replay_drops_, std::memory_order_relaxed);
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

#include "sim_chip.h"

#include <fmt/format.h>

#include <cstring>

#include "base/resident_memory.h"
#include "launch_codec.h"

namespace chiprt::device {
namespace {

// Code loaded in the device process, named by its handle there (entry() is that handle as an
// opaque token). Unloads itself while its process lives.
// Made before the load, so that loaded code always has an owner that unloads it.
// Its unload may leave the code in the device's code cache, within the loader's bounds.
class DeviceCode final : public LoadedCode {
 public:
  DeviceCode(std::shared_ptr<DeviceProcess> process, CodeCacheBounds cache)
      : process_(std::move(process)), cache_(cache) {}
  ~DeviceCode() override {
    if (handle_ != 0) process_->unload(handle_, cache_);  // device handles start at 1
  }
  void adopt(uint64_t handle) noexcept { handle_ = handle; }
  void* entry() const override { return reinterpret_cast<void*>(handle_); }
  void* symbol(const char*) const override { return nullptr; }

 private:
  std::shared_ptr<DeviceProcess> process_;
  const CodeCacheBounds cache_;
  uint64_t handle_ = 0;
};

class SimChipLoader final : public CodeLoader {
 public:
  SimChipLoader(std::weak_ptr<SimChip> chip, CodeCacheBounds cache)
      : chip_(std::move(chip)), cache_(cache) {}
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override {
    auto chip = chip_.lock();
    const DeviceAddr addr = chip ? chip->address_of(shared_object) : 0;
    if (addr == 0) {  // no image code is ever loaded in the host (I13)
      return Status(StatusCode::invalid_argument,
                    "code outside device memory is not loaded: the chip loads code from its "
                    "device memory");
    }
    CHIPRT_ASSIGN_OR_RETURN(auto process, chip->process());
    auto code = std::make_unique<DeviceCode>(process, cache_);
    CHIPRT_ASSIGN_OR_RETURN(uint64_t handle,
                            process->load(addr, shared_object.size(), entry_symbol, cache_));
    code->adopt(handle);
    return std::unique_ptr<LoadedCode>(std::move(code));
  }

 private:
  std::weak_ptr<SimChip> chip_;
  const CodeCacheBounds cache_;
};

void put_kernels(protocol::WireWriter& w, const std::vector<LaunchKernel>& kernels) {
  w.put(static_cast<uint32_t>(kernels.size()));
  for (const LaunchKernel& k : kernels) {
    w.put(protocol::WireKernel{k.func_id, static_cast<uint32_t>(k.core),
                               reinterpret_cast<uint64_t>(k.code)});
  }
}

}  // namespace

Result<std::shared_ptr<SimChip>> SimChip::create(ChipProfile profile, uint64_t capacity,
                                                 SimChipOptions options) {
  std::shared_ptr<SimChip> chip(new SimChip(std::move(profile), options));
  capacity = align_up(capacity, GmArena::kGranularity);
  CHIPRT_ASSIGN_OR_RETURN(chip->memory_, SharedMemory::create("chiprt-device-memory", capacity));
  CHIPRT_ASSIGN_OR_RETURN(chip->arena_, GmArena::create(chip->memory_->data(), capacity));
  return chip;
}

SimChip::~SimChip() {
  std::lock_guard lock(mutex_);
  if (process_) process_->shutdown();
}

Result<DeviceBuffer> SimChip::allocate(uint64_t bytes, MemoryTag tag) {
  const uint64_t size = allocation_size(bytes);
  if (size == 0) {
    return Status(StatusCode::out_of_device_memory,
                  fmt::format("{} bytes can never be allocated", bytes));
  }
  CHIPRT_ASSIGN_OR_RETURN(DeviceAddr addr, arena_->allocate(size, tag));
  return make_buffer(addr, size, tag);
}

Status SimChip::copy_to_device(DeviceAddr dst, ByteSpan src) {
  const ByteSpan pieces[] = {src};
  return upload(dst, pieces);
}

Status SimChip::upload(DeviceAddr dst, std::span<const ByteSpan> pieces) {
  uint64_t bytes = 0;
  for (ByteSpan piece : pieces) bytes += piece.size();
  std::byte* target = arena_->upload_target(dst, bytes);
  if (target == nullptr) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("copy of {} bytes to 0x{:x} leaves every live allocation", bytes, dst));
  }
  for (ByteSpan piece : pieces) {
    if (!piece.empty()) std::memcpy(target, piece.data(), piece.size());
    target += piece.size();
  }
  return Status::Ok();
}

Status SimChip::copy_from_device(MutableByteSpan dst, DeviceAddr src) const {
  const std::byte* source = arena_->download_source(src, dst.size());
  if (source == nullptr) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("copy of {} bytes from 0x{:x} leaves every live allocation", dst.size(), src));
  }
  if (!dst.empty()) std::memcpy(dst.data(), source, dst.size());
  return Status::Ok();
}

DeviceStats SimChip::stats() const {
  DeviceStats out = arena_->stats();
  std::shared_ptr<DeviceProcess> process;
  {
    std::lock_guard lock(mutex_);
    out.losses = losses_ + (process_ && !process_->health().ok() ? 1 : 0);
    out.code_loads = out.code_unloads = ended_code_loads_;
    process = process_;
  }
  if (process) {  // the page outlives the process: a lost one's counts stay readable
    const auto& code = process->status_page().code;
    out.code_loads += code.loads.load(std::memory_order_relaxed);
    out.code_unloads += code.unloads.load(std::memory_order_relaxed);
  }
  if (process && process->health().ok()) {
    const auto& replays = process->status_page().replays;
    out.replay_cache.entries = replays.entries.load(std::memory_order_relaxed);
    out.replay_cache.bytes = replays.bytes.load(std::memory_order_relaxed);
    out.replay_cache.peak_bytes = replays.peak_bytes.load(std::memory_order_relaxed);
    out.replay_cache.evictions = replays.evictions.load(std::memory_order_relaxed);
    out.replay_cache.drops = replays.drops.load(std::memory_order_relaxed);
    const auto& cached = process->status_page().code_cache;
    out.code_cache.entries = cached.entries.load(std::memory_order_relaxed);
    out.code_cache.bytes = cached.bytes.load(std::memory_order_relaxed);
    out.code_cache.hits = cached.hits.load(std::memory_order_relaxed);
    out.code_cache.misses = cached.misses.load(std::memory_order_relaxed);
    out.code_cache.evictions = cached.evictions.load(std::memory_order_relaxed);
    out.execution_threads = process->execution_threads();
    out.parked_execution_threads =
        process->status_page().parked_execution_threads.load(std::memory_order_relaxed);
    out.process.pid = process->pid();
    const ResidentMemory memory = resident_memory(process->pid());
    out.process.resident_bytes = memory.resident_bytes;
    out.process.peak_resident_bytes = memory.peak_resident_bytes;
  }
  return out;
}

DeviceAddr SimChip::address_of(ByteSpan bytes) const {
  const std::byte* base = memory_->data();
  if (bytes.data() < base || bytes.data() > base + memory_->size() ||
      bytes.size() > static_cast<uint64_t>(base + memory_->size() - bytes.data())) {
    return 0;
  }
  return GmArena::kDeviceBase + static_cast<uint64_t>(bytes.data() - base);
}

std::shared_ptr<CodeLoader> SimChip::code_loader(const CodeCacheBounds& cache) {
  return std::make_shared<SimChipLoader>(weak_from_this(), cache);
}

Result<std::shared_ptr<DeviceProcess>> SimChip::process_locked() {
  if (!process_) {
    DeviceProcess::Config config{profile_, options_.execution_threads, memory_->fd()};
    CHIPRT_ASSIGN_OR_RETURN(process_,
                            DeviceProcess::start(config, [this](uint64_t bytes, MemoryTag tag) {
                              return allocate(bytes, tag);
                            }));
  }
  return process_;
}

Result<std::shared_ptr<DeviceProcess>> SimChip::process() {
  std::lock_guard lock(mutex_);
  return process_locked();
}

Status SimChip::start() {
  CHIPRT_ASSIGN_OR_RETURN(auto process, this->process());
  return process->health();
}

Status SimChip::health() const {
  std::lock_guard lock(mutex_);
  return process_ ? process_->health() : Status::Ok();
}

Status SimChip::reset() {
  std::shared_ptr<DeviceProcess> old;
  {
    std::lock_guard lock(mutex_);
    if (process_ && !process_->health().ok()) ++losses_;
    old = std::move(process_);
    ++epoch_;
  }
  if (old) {
    old->shutdown();  // its pending calls fail; loaded code that still names it no-ops
    // Its code went with it: the loads it counted are all unloaded now.
    const uint64_t loads = old->status_page().code.loads.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    ended_code_loads_ += loads;
  }
  return start();
}

uint64_t SimChip::epoch() const {
  std::lock_guard lock(mutex_);
  return epoch_;
}

Result<LaunchResult> SimChip::launch(const OrchestrationLaunch& launch, const Deadlines& limits) {
  CHIPRT_ASSIGN_OR_RETURN(auto process, this->process());
  return process->launch(
      protocol::Message::kLaunchOrch,
      [&](protocol::WireWriter& w) {
        w.put(reinterpret_cast<uint64_t>(launch.orchestration));
        put_kernels(w, launch.kernels);
        protocol::put_tensors(w, launch.inputs);
        w.put(static_cast<uint32_t>(launch.scalars.size()));
        for (const auto& [name, value] : launch.scalars) w.put_string(name).put(value);
        w.put(launch.ring_slots).put(launch.heap_bytes).put(launch.heap_addr);
        w.put(uint8_t{launch.trace});
        protocol::put_check(w, launch.check);
      },
      limits, launch.label);
}

Result<LaunchResult> SimChip::launch(const GraphLaunch& launch, const Deadlines& limits) {
  CHIPRT_ASSIGN_OR_RETURN(auto process, this->process());
  return process->launch(
      protocol::Message::kLaunchGraph,
      [&](protocol::WireWriter& w) {
        w.put(launch.graph).put(launch.graph_bytes);
        put_kernels(w, launch.kernels);
        w.put_array(launch.tensors.data(), static_cast<uint32_t>(launch.tensors.size()));
        w.put(uint8_t{launch.trace});
        w.put(launch.replay_cache_bytes);
        protocol::put_check(w, launch.check);
      },
      limits);
}

void SimChip::forget_graph(uint32_t graph_id) noexcept {
  std::shared_ptr<DeviceProcess> process;
  {
    std::lock_guard lock(mutex_);
    process = process_;
  }
  // No process: nothing was replayed since the last reset, which took the replays with it.
  if (process) process->forget_graph(graph_id);
}

}  // namespace chiprt::device

namespace chiprt {

std::shared_ptr<Device> create_sim_chip(const ChipProfile& profile, uint64_t capacity_bytes,
                                        SimChipOptions options) {
  auto chip = device::SimChip::create(profile, capacity_bytes, options);
  if (!chip.ok()) return nullptr;
  return std::move(chip).value();
}

}  // namespace chiprt

// Device: the small interface every backend implements (allocate, free, copy in/out, host
// mapping, code loading, launch, health, stats), and DeviceBuffer, the RAII handle of one
// device allocation.
//
// Contract:
// - All Device methods are thread-safe.
// - Execution (code loads and launches) happens on the device: the simulated chip runs it in a
//   device process of its own. When that process dies or misses a deadline the device is
//   *lost*: health() and every load and launch return device_lost (naming the cause) until
//   reset(), which starts a fresh device and a new epoch(). Code loaded before the reset is
//   gone; device memory and its allocations are kept (the host owns them).
// - allocate() rounds the request up to allocation_granularity() and never aborts: when the
//   arena cannot fit it, it returns out_of_device_memory and changes no accounting.
// - A DeviceBuffer is the sole owner of its allocation; destroying or reset()ting it frees the
//   memory. The Device must outlive every DeviceBuffer it handed out.
// - Every byte is counted per tag (callable, tensor, runtime, other): live and peak bytes and
//   allocation counts, exactly.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "chiprt/bytes.h"
#include "chiprt/code_loader.h"
#include "chiprt/launch.h"
#include "chiprt/status.h"

namespace chiprt {

using DeviceAddr = uint64_t;

enum class MemoryTag : uint8_t { callable = 0, tensor = 1, runtime = 2, other = 3 };
inline constexpr size_t kMemoryTagCount = 4;
std::string_view memory_tag_name(MemoryTag tag) noexcept;

// Counted by the device where each thing happens (I12): allocations and frees, and host copies
// into (uploads) and out of (downloads) allocations of the tag.
struct TagStats {
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t live_allocations = 0;
  uint64_t total_allocations = 0;
  uint64_t frees = 0;
  uint64_t uploads = 0;
  uint64_t upload_bytes = 0;
  uint64_t downloads = 0;
  uint64_t download_bytes = 0;
  // Uploads into an allocation that had already received one (its placement): 0 for callable
  // buffers, which chiprt fills with exactly one upload and never writes again.
  uint64_t reuploads = 0;
};

struct DeviceStats {
  uint64_t capacity_bytes = 0;
  uint64_t granularity = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t live_allocations = 0;
  uint64_t failed_allocations = 0;
  uint64_t losses = 0;  // times the device was lost (its process died or was killed)
  // Releases of an address that is not a live allocation (never allocated, or already
  // released): ignored, and counted here. 0 is the goal.
  uint64_t bad_frees = 0;
  // Code loaded (memfd + dlopen) and unloaded (dlclose), counted by the device process at the
  // load and at the unload, device-wide (every worker of the device) since the device was made.
  // A device process that ended (reset() after a loss) unloaded everything it held by ending:
  // its loads count as unloads then.
  uint64_t code_loads = 0;
  uint64_t code_unloads = 0;
  std::array<TagStats, kMemoryTagCount> tags{};
  const TagStats& tag(MemoryTag t) const { return tags[static_cast<size_t>(t)]; }
  // What the device keeps for hbg graphs it replays (host memory of the device process):
  // entries, bytes by container capacity, the most bytes it held, entries evicted to stay
  // within WorkerOptions::replay_cache_bytes, entries dropped because the host dropped their
  // graph. Since the device's last start (reset() starts from zero).
  struct ReplayCache {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t peak_bytes = 0;
    uint64_t evictions = 0;
    uint64_t drops = 0;
  } replay_cache;
  // The device's cache of code no registration uses any more (see CodeCacheBounds), counted by
  // the device process: entries and their object bytes now, loads answered from it (hits) and
  // loads made afresh while it was in use (misses), entries unloaded to stay within the
  // bounds. Since the device's last start (reset() starts from an empty cache).
  struct CodeCache {
    uint64_t entries = 0;
    uint64_t bytes = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
  } code_cache;
  // The process executing the device's code, read from /proc when stats() is taken: its pid
  // (0: none runs) and its resident memory now and at its peak (VmRSS, VmHWM).
  struct Process {
    int64_t pid = 0;
    uint64_t resident_bytes = 0;
    uint64_t peak_resident_bytes = 0;
  } process;
  // The device's execution threads (its cores' pool): how many it runs (as its process reported
  // at its start) and how many are parked waiting for work, as the device last wrote it (a
  // snapshot, for tests, benchmarks and diagnostics). Both 0 when no device process runs.
  uint32_t execution_threads = 0;
  uint32_t parked_execution_threads = 0;
};

// A chip's shape: how many cores of each type and AICPU threads, and runtime defaults.
struct ChipProfile {
  std::string name;
  uint32_t aic_cores = 0;
  uint32_t aiv_cores = 0;
  uint32_t aicpu_threads = 0;
  uint32_t ring_slots = 0;  // default task-ring size of the tmr runtime
  uint64_t heap_bytes = 0;  // default intermediate-tensor heap of the tmr runtime
};

// Profiles "a2a3" and "a5"; not_found for any other name.
Result<ChipProfile> chip_profile(std::string_view name);

inline constexpr uint32_t kDefaultCodeCacheEntries = 64;
inline constexpr uint64_t kDefaultCodeCacheBytes = 64ull << 20;

// Bounds of the device's cache of loaded code that no registration uses any more: the last
// unload of code keeps it loaded (least recently used first out beyond either bound), and a
// later load of the same bytes (XXH3-128 and size, confirmed byte for byte) with the same entry
// symbol takes it back instead of loading again. Only code nothing names is cached: code in use
// is never evicted. The cache holds no device memory (the bytes stay the device memory's,
// uploaded again for every placement). A load or unload made with either bound 0 neither uses
// nor fills the cache.
struct CodeCacheBounds {
  uint32_t entries = kDefaultCodeCacheEntries;
  uint64_t bytes = kDefaultCodeCacheBytes;
  bool enabled() const { return entries > 0 && bytes > 0; }
};

class Device;

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { reset(); }

  void reset() noexcept;
  explicit operator bool() const { return device_ != nullptr; }
  DeviceAddr addr() const { return addr_; }
  uint64_t size() const { return size_; }  // the allocation size, granularity included
  MemoryTag tag() const { return tag_; }
  // Gives the allocation up without freeing it (its new owner frees it); returns its address.
  DeviceAddr disown() noexcept {
    device_ = nullptr;
    size_ = 0;
    return std::exchange(addr_, 0);
  }

 private:
  friend class Device;
  DeviceBuffer(Device* device, DeviceAddr addr, uint64_t size, MemoryTag tag)
      : device_(device), addr_(addr), size_(size), tag_(tag) {}
  Device* device_ = nullptr;  // borrowed
  DeviceAddr addr_ = 0;
  uint64_t size_ = 0;
  MemoryTag tag_ = MemoryTag::other;
};

class Device {
 public:
  virtual ~Device() = default;

  virtual const ChipProfile& profile() const = 0;
  virtual Result<DeviceBuffer> allocate(uint64_t bytes, MemoryTag tag) = 0;
  virtual Status copy_to_device(DeviceAddr dst, ByteSpan src) = 0;
  virtual Status copy_from_device(MutableByteSpan dst, DeviceAddr src) const = 0;
  // One upload of `pieces` laid end to end from `dst` (counted as one). Defaults to a copy each.
  virtual Status upload(DeviceAddr dst, std::span<const ByteSpan> pieces);
  // Host pointer to [addr, addr + bytes) for the simulated AICPU and cores, or nullptr when
  // the range is not inside one live allocation (or the device is not host-visible).
  virtual std::byte* host_pointer(DeviceAddr addr, uint64_t bytes) = 0;
  virtual DeviceStats stats() const = 0;
  virtual uint64_t allocation_granularity() const = 0;

  // Loads code that lies in this device's memory (a span from host_pointer) on the device; the
  // LoadedCode's entry() is an opaque token for launches. Other bytes are refused: image code
  // never runs in the host (hbg orchestrations run in a sandbox process). Defaults to a loader
  // that loads nothing (a device that executes no code). Its loads and unloads use the device's
  // code cache within `cache` (the default bounds without it).
  std::shared_ptr<CodeLoader> code_loader() { return code_loader(CodeCacheBounds{}); }
  virtual std::shared_ptr<CodeLoader> code_loader(const CodeCacheBounds& cache);
  // Runs a tmr orchestration or an hbg graph to completion; unavailable unless the device
  // executes code.
  virtual Result<LaunchResult> launch(const OrchestrationLaunch& launch, const Deadlines& limits);
  virtual Result<LaunchResult> launch(const GraphLaunch& launch, const Deadlines& limits);
  // The host dropped the graph with this id (GraphLaunch's): the device drops what it keeps for
  // it. Graph ids are never reused.
  virtual void forget_graph(uint32_t graph_id) noexcept { (void)graph_id; }
  // Starts execution if it has not started (idempotent): a failure to start is a value.
  virtual Status start() { return Status::Ok(); }
  // ok, or the sticky device_lost.
  virtual Status health() const { return Status::Ok(); }
  // Replaces a (lost or healthy) device's execution with a fresh one: epoch() changes, loaded
  // code is gone, memory stays.
  virtual Status reset() { return Status::Ok(); }
  virtual uint64_t epoch() const { return 0; }

  // The request rounded up to the granularity; 0 when no allocation could ever be that large.
  uint64_t allocation_size(uint64_t requested) const {
    const uint64_t granularity = allocation_granularity();
    if (requested > UINT64_MAX - granularity) return 0;
    return align_up(requested == 0 ? 1 : requested, granularity);
  }

 protected:
  friend class DeviceBuffer;
  virtual void release(DeviceAddr addr) noexcept = 0;
  DeviceBuffer make_buffer(DeviceAddr addr, uint64_t size, MemoryTag tag) {
    return DeviceBuffer(this, addr, size, tag);
  }
};

struct SimChipOptions {
  // Host threads that execute the chip's logical AIC/AIV cores; 0: the machine's hardware
  // threads less one (at least one), leaving one to the AICPU threads and the host.
  uint32_t execution_threads = 0;
};

// The simulated chip: device memory of `capacity_bytes` (granularity 512 bytes) shared with a
// device process (started by start(), or by the first ChipWorker) that runs the profile's
// AICPU threads and cores. nullptr when the memory cannot be created.
std::shared_ptr<Device> create_sim_chip(const ChipProfile& profile, uint64_t capacity_bytes,
                                        SimChipOptions options = {});

// A device that fails every allocation (unavailable): the cheap second backend for tests.
std::shared_ptr<Device> create_null_device();

}  // namespace chiprt

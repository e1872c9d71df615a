// ChipWorker: one per (runtime, device). Registers chip callables, runs them, releases them.
//
// Contract:
// - register_callable validates the image, then places it: one device buffer per distinct image
//   (identity: XXH3-128 + size, confirmed by a byte comparison), refcounted. It is atomic: on
//   any error no device bytes, no id and no refcount change remain; an exception beneath it
//   (host memory, an injected hook or loader) is such an error, never thrown to the caller. The id
//   takes the smallest free slot, with no cap, tagged with that slot's generation (see CallableId
//   in chiprt/callable.h).
// - An id that was unregistered (or never handed out) is not_found for run, unregister_callable
//   and callable_info, even once its slot holds another registration: a stale id never reaches
//   another caller's callable.
// - unregister_callable frees the id at once; the buffer and its loaded code are released when
//   the last registration of that image is gone and no run holds a lease on it (the code may
//   stay loaded in the device's code cache: WorkerOptions::code_cache_entries).
// - Each run borrows an intermediate heap of the worker (device memory tagged runtime, the heap
//   limit in size): made at the first run that needs one, kept for later runs (one per run that
//   was ever in flight at once), freed by finalize() or release_idle_memory().
// - finalize() releases everything, counts live registrations as leaked, is idempotent, and
//   runs on destruction (also after the device was lost). After it every call returns
//   failed_precondition.
// - Device faults (I11): a run whose device code crashes, exits or hangs returns device_lost
//   or deadline_exceeded; from then on every call returns device_lost until reset(), which
//   starts a fresh device. Registrations made before the reset are gone (their ids answer
//   not_found), on every worker of that device.
// - Device tensors: alloc_tensor() places a dense tensor in the worker's device memory (tagged
//   tensor); a run names it in RunArgs::device_inputs / device_outputs (DeviceTensor::ref()), so
//   its bytes never travel through the host. The DeviceTensor frees its memory on destruction
//   and keeps its device alive; it may outlive the worker (but not be allocated after finalize).
// - Every public method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "chiprt/callable.h"
#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "chiprt/image.h"
#include "chiprt/run.h"
#include "chiprt/runtime_kind.h"
#include "chiprt/status.h"

namespace chiprt {

inline constexpr uint32_t kDefaultGraphCacheEntries = 16;
inline constexpr uint64_t kDefaultGraphCacheBytes = 64ull << 20;
inline constexpr uint64_t kDefaultGraphCacheHostBytes = 16ull << 20;
inline constexpr uint64_t kDefaultReplayCacheBytes = 64ull << 20;

struct WorkerOptions {
  RuntimeKind runtime = RuntimeKind::tmr;
  // Identity hash of an image; defaults to its verified content hash. Tests inject collisions.
  std::function<ImageHash(const ImageView&)> identity_hash;
  // Loads the callable's code; defaults to device.code_loader(bounds) (code on the device, with
  // the code cache bounds below).
  std::shared_ptr<CodeLoader> loader;
  // hbg: loads the orchestration; defaults to an orchestration sandbox of this worker's own
  // (orchestration_sandbox_loader(), stopped at finalize()). Orchestrations it loads must come
  // from an orchestration sandbox loader (possibly wrapped): the runtime records there.
  std::shared_ptr<CodeLoader> orchestration_loader;
  // tmr ring slots; 0 takes the chip profile's default.
  uint32_t ring_slots = 0;
  // The intermediate heap of both runtimes (device memory, one per run in flight); 0 takes the
  // chip profile's default, at most a quarter of the device's capacity.
  uint64_t heap_bytes = 0;
  // hbg: recorded graphs kept per worker (LRU), bounded by count, by the device bytes of their
  // allocations and by the host bytes they hold (tensor tables and argument keys, counted by
  // container capacity), whichever is reached first; 0 takes the defaults
  // (kDefaultGraphCacheEntries: 16 graphs, kDefaultGraphCacheBytes: 64 MiB,
  // kDefaultGraphCacheHostBytes: 16 MiB).
  uint32_t graph_cache_entries = 0;
  uint64_t graph_cache_bytes = 0;
  uint64_t graph_cache_host_bytes = 0;
  // hbg: host bytes the device process may keep for replaying this worker's cached graphs
  // (their validated nodes, edges and parameters; counted by container capacity, reported in
  // DeviceStats::replay_cache); 0 takes kDefaultReplayCacheBytes (64 MiB). A replay is dropped
  // when the worker drops its graph (unregister, eviction, reset, finalize), whatever the bound.
  uint64_t replay_cache_bytes = 0;
  // The device's code cache (CodeCacheBounds in chiprt/device.h): the device process keeps the
  // code of an image whose last registration went, and a later registration of an image with
  // the same code objects takes them back instead of loading them again (its bytes are still
  // uploaded: device memory is freed at the last unregister as always). Bounded by entries and
  // by object bytes, least recently cached out first; the cache is the device's, shared by its
  // workers, and each load and unload applies the bounds of the worker that makes it. Either 0
  // disables it for this worker: every registration of a released image loads its code again.
  // Applies to the default `loader`; a loader given there brings its own
  // (device.code_loader(bounds)). Figures in DeviceStats::code_cache.
  uint32_t code_cache_entries = kDefaultCodeCacheEntries;
  uint64_t code_cache_bytes = kDefaultCodeCacheBytes;
  // A run that takes longer than run_timeout, or in which no task completes or starts and the
  // orchestration makes no call for stall_timeout, fails with deadline_exceeded; the device
  // is then lost (its process killed).
  std::chrono::milliseconds run_timeout{std::chrono::seconds(300)};
  std::chrono::milliseconds stall_timeout{std::chrono::seconds(30)};
  // Checks every run makes unless its RunArgs::checks says otherwise (chiprt/check.h).
  Checks checks;
};

struct WorkerStats {
  uint64_t registrations_live = 0;
  uint64_t registrations_total = 0;
  uint64_t distinct_buffers_live = 0;
  uint64_t buffers_created = 0;
  // Code loads and unloads (memfd + dlopen, dlclose), counted where they happen: by the device
  // process (DeviceStats::code_loads, device-wide: every worker of the device) plus by this
  // worker's orchestration sandbox (hbg). A registration of a new image loads its orchestration
  // and each kernel once; a duplicate loads nothing, nor does the device load an object its code
  // cache holds (DeviceStats::code_cache).
  uint64_t loads = 0;
  uint64_t unloads = 0;
  // Uploads into callable buffers after their single placement upload (device-wide, counted by
  // the device): a separate orchestration upload would show here. 0 is the goal.
  uint64_t orch_uploads = 0;
  uint64_t leaked_registrations = 0;
  uint64_t deferred_releases = 0;
  uint64_t leased_buffers = 0;  // held by a run, or by a dedup comparison under way
  uint64_t runs = 0;
  uint64_t device_losses = 0;          // times this worker's device was lost
  uint64_t registrations_dropped = 0;  // registrations that went with a lost device at reset
  // The worker's intermediate heaps (device memory tagged runtime, one per run that was ever in
  // flight at once, made at the first run that needs one and freed at finalize): how many and
  // their allocated bytes.
  uint64_t heaps = 0;
  uint64_t heap_bytes_reserved = 0;
  std::map<uint32_t, uint64_t> refcount_histogram;  // refcount -> number of buffers
  // hbg's graph cache: its bounds, current use and high-water marks (all 0 on tmr).
  struct GraphCache {
    uint64_t entries = 0;
    uint64_t bytes = 0;       // device bytes of the cached graphs' allocations
    uint64_t host_bytes = 0;  // host bytes the cached graphs hold (container capacities)
    uint64_t peak_entries = 0;
    uint64_t peak_bytes = 0;
    uint64_t peak_host_bytes = 0;
    uint64_t capacity_entries = 0;
    uint64_t capacity_bytes = 0;
    uint64_t capacity_host_bytes = 0;
    uint64_t evictions = 0;
  } graph_cache;
  // hbg: the worker's orchestration sandbox process (read from /proc when stats() is taken):
  // its pid (0: none runs) and resident memory now and at its peak. All 0 on tmr.
  DeviceStats::Process sandbox;
  DeviceStats device;
};

// A dense row-major tensor in device memory, owned (RAII): destroying or reset()ting it frees the
// memory. Move-only.
class DeviceTensor {
 public:
  DeviceTensor() = default;
  DeviceTensor(DeviceTensor&&) noexcept = default;
  DeviceTensor& operator=(DeviceTensor&& other) noexcept {
    if (this != &other) {
      memory_ = std::move(other.memory_);  // frees ours before the device may go
      dtype_ = other.dtype_;
      shape_ = std::move(other.shape_);
      bytes_ = other.bytes_;
      device_ = std::move(other.device_);
    }
    return *this;
  }
  ~DeviceTensor() { memory_.reset(); }

  explicit operator bool() const { return static_cast<bool>(memory_); }
  uint32_t dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  uint64_t element_count() const;
  uint64_t bytes() const { return bytes_; }  // of the data (the allocation may be larger)
  DeviceAddr addr() const { return memory_.addr(); }
  uint64_t allocation_bytes() const { return memory_.size(); }
  // The borrowed form a run takes (RunArgs::device_inputs / device_outputs).
  DeviceTensorRef ref() const;
  void reset() noexcept {
    memory_.reset();
    device_.reset();
  }

 private:
  friend class ChipWorker;
  std::shared_ptr<Device> device_;  // declared before memory_: outlives it
  DeviceBuffer memory_;
  uint32_t dtype_ = CHIPRT_DTYPE_F32;
  std::vector<int64_t> shape_;
  uint64_t bytes_ = 0;
};

class ChipWorker {
 public:
  static Result<std::unique_ptr<ChipWorker>> create(std::shared_ptr<Device> device,
                                                    WorkerOptions options = {});
  ~ChipWorker();
  ChipWorker(const ChipWorker&) = delete;
  ChipWorker& operator=(const ChipWorker&) = delete;

  Result<CallableId> register_callable(ByteSpan image);
  Status unregister_callable(CallableId id);
  Result<RunReport> run(CallableId id, const RunArgs& args);
  // The task graph of one run with `args`, as a traced report (RunReport::trace, edges and
  // orchestration): hbg records it without executing a kernel (its tasks carry no times); tmr
  // runs the callable, traced. Unchecked.
  Result<RunReport> graph(CallableId id, const RunArgs& args);
  void finalize();
  // Frees the intermediate heaps no run holds (see WorkerStats::heaps); the next run that needs
  // one makes it again. For measuring device memory against a baseline taken before any run.
  void release_idle_memory();
  // Starts a fresh device (whether or not it was lost) and drops every registration.
  Status reset();

  // Device tensors (see DeviceTensor). alloc_tensor: 1..4 dims, every dim >= 1, a known dtype
  // (invalid_argument otherwise); the contents are unspecified until written.
  Result<DeviceTensor> alloc_tensor(uint32_t dtype, std::vector<int64_t> shape);
  // A new device tensor holding a copy of `host` (an empty host shape is the shape {1}).
  Result<DeviceTensor> to_device(const HostTensor& host);
  // Whole-tensor copies: `bytes` must be exactly tensor.bytes() long.
  Status copy_to_device(const DeviceTensor& tensor, ByteSpan bytes);
  Status copy_from_device(const DeviceTensor& tensor, MutableByteSpan bytes) const;
  Result<HostTensor> to_host(const DeviceTensor& tensor) const;

  WorkerStats stats() const;
  Result<CallableInfo> callable_info(CallableId id) const;
  // func_id -> name of every kernel of a registered callable, as RunReport::kernel_names has them
  // after a run of it; not_found for an id that is not registered.
  Result<std::map<uint32_t, std::string>> kernel_names(CallableId id) const;
  RuntimeKind runtime() const;
  Device& device() const;

  struct Impl;

 private:
  explicit ChipWorker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chiprt

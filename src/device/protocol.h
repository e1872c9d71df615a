// The device protocol, version 8: how the host (DeviceProcess) and a simulated chip's device
// process (chiprt-device) talk. Besides the C ABI headers this is the only header both sides
// include.
//
// Transport
// - Control channel: a SOCK_STREAM socketpair; fd 5 in the device process. Every message is a
//   FrameHeader followed by `length` payload bytes, written whole under the sender's lock.
//   Payloads are encoded with WireWriter and decoded with WireReader (native layout: both ends
//   are built from the same tree). EOF on either end means the other side is gone.
// - Device memory: one memfd of the chip's capacity (fd 3 in the device process), mapped
//   shared by both. Device address kDeviceBase + o is byte o of it. The host owns allocation
//   bookkeeping; the device asks it for memory (kAlloc) and hands it back (kFree).
// - Status page: one small memfd (fd 4) holding a StatusPage: what each device thread is
//   running and each run's progress, so the host can name a crash and see a stall; and the
//   device's own counts of code loads and unloads (I12).
// - Stall snapshots: when a run misses its stall deadline, the host writes the run into the
//   status page's StallSection, bumps `request` and wakes it (a futex on the shared page); the
//   device's stall reporter thread (which runs no user code, so it answers even when every
//   other thread is stuck in a kernel) writes a StallSnapshot of that run's oldest waiting
//   tasks and their unmet predecessors, then sets `answer` to `request`. The host waits a
//   bounded time for it, reads it as untrusted input, then kills the device as before. Each
//   run's orchestration state (StallReport::Orchestration) is a word of its progress slot,
//   stored by the device at each change (a store per wait, not per task).
//
// Messages (id meaning in brackets), host -> device:
//   kLoad [request]      addr u64, size u64, entry symbol str, code cache -> kLoaded
//   kUnload [request]    handle u64, code cache                     -> kUnloaded (answered, so
//                        that the device's unload count is current when the host's unload
//                        returns)
//   kLaunchOrch [run]    progress slot u32, orchestration handle u64, kernels, tensors (inputs),
//                        scalars, ring slots u32, heap bytes u64, heap addr u64, trace u8,
//                        check                                               -> kRunDone
//   kLaunchGraph [run]   progress slot u32, graph addr u64, graph bytes u64, kernels,
//                        tensor addrs (count u32, u64 each), trace u8, replay cache bound u64
//                        (bytes the device may keep for replays of cached graphs), check
//                                                                            -> kRunDone
//   kAllocReply [request] addr u64 (0: failed), status code i32, message str
//   kForgetGraph [graph id] -  the host dropped that graph (its callable was unregistered, or its
//                        cache evicted it, or the worker was reset or finalized): the device drops
//                        what it keeps for it (its replay). Graph ids are never reused.
//   kShutdown [0]        -
// device -> host:
//   kReady [0]           aicpu threads u32, execution threads u32
//   kLoaded [request]    status code i32, message str, handle u64
//   kUnloaded [request]  -
//   kAlloc [request]     run u64, bytes u64, memory tag u32   -> kAllocReply
//   kFree [run]          addr u64
//   kLog [run]           text str
//   kRunDone [run]       status code i32, message str, tasks u64, peak ring u64, peak heap u64,
//                        orchestration calls u64, tensors (outputs), trace (count u32, TraceRecord
//                        each; count u32, TraceEdgeRecord each; count u32, TraceSpanRecord each),
//                        findings, writes
// where code cache = entries u32, bytes u64: the bounds of the device's cache of unloaded code
// (device_process/code_cache.h) that the load may hit and the unload may fill (0: neither);
// kernels = count u32, then (func_id u32, core u32, handle u64) each, and tensors =
// count u32, then (name str, dtype u32, ndim u32, shape i64 x4, addr u64, bytes u64) each;
// check = serial u8, seed u64, memcheck u8, poison u8, tensors (count u32, then (name str,
// label str, dtype u32, bytes u64, fresh u8) each); findings = count u32, then (check str,
// has task u8, task u64, func_id u32, core type u32, core index u32, tensor str, unit str,
// begin u64, end u64, message str) each, then findings dropped u64, then writes = count u32,
// then (tensor str, begin u64, end u64, task u64, func_id u32, core type u32, core index u32)
// each.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace chiprt::device::protocol {

// 2: the tmr launch lends its heap (heap addr); 3: thread records on cache lines of their own;
// 4: kForgetGraph, the graph launch's replay cache bound, the replay cache on the status page;
// 5: code loads and unloads on the status page, kUnload answered by kUnloaded; 6: parked
// execution threads on the status page; 7: checked launches and their findings; 8: stall
// snapshots and the orchestration state of each run on the status page, traces with their
// dependency edges and the orchestration track, the code cache (its bounds on kLoad and kUnload,
// its figures on the status page)
inline constexpr uint32_t kVersion = 8;
inline constexpr int kMemoryFd = 3;
inline constexpr int kStatusFd = 4;
inline constexpr int kControlFd = 5;
inline constexpr uint64_t kDeviceBase = 0x100000000000ull;
inline constexpr uint64_t kAllocationGranularity = 512;  // the host arena's
inline constexpr uint32_t kMaxPayload = 256u << 20;      // a larger length is a protocol error

enum class Message : uint32_t {
  kLoad = 1,
  kUnload,
  kLaunchOrch,
  kLaunchGraph,
  kAllocReply,
  kShutdown,
  kForgetGraph,
  kReady = 100,
  kLoaded,
  kAlloc,
  kFree,
  kLog,
  kRunDone,
  kUnloaded,
};

struct FrameHeader {
  Message type;
  uint32_t length;  // payload bytes after the header
  uint64_t id;
};

struct TraceRecord {
  uint64_t task_id;
  uint32_t func_id;
  uint32_t core_type;
  uint32_t core_index;
  uint32_t reserved;
  double start_us;
  double end_us;
  double submit_us;
};
struct TraceEdgeRecord {
  uint64_t from;
  uint64_t to;
  uint32_t kinds;
  uint32_t reserved;
};
struct TraceSpanRecord {
  uint32_t kind;  // OrchestrationSpan::Kind
  uint32_t reserved;
  uint64_t task_id;
  double start_us;
  double end_us;
};

// What one device thread is doing, written by that thread with relaxed atomics before and after
// each kernel or orchestration, and read by the host (deadlines, and after the device process
// died). A cache line of its own: each core thread writes its record twice per task, and
// records sharing a line would bounce it between the cores.
struct alignas(64) ThreadRecord {
  enum State : uint32_t { idle = 0, kernel = 1, orchestration = 2 };
  std::atomic<uint32_t> state;
  std::atomic<uint32_t> func_id;
  std::atomic<uint32_t> core_type;
  std::atomic<uint32_t> core_index;
  std::atomic<uint64_t> run;
  std::atomic<uint64_t> task;
};

inline constexpr uint32_t kStatusMagic = 0x43535450u;  // "CSTP"
inline constexpr uint32_t kMaxThreadRecords = 128;
inline constexpr uint32_t kMaxRuns = 1024;         // concurrent runs per device (progress slots)
inline constexpr uint32_t kStallTasks = 8;         // StallReport::kMaxWaiting
inline constexpr uint32_t kStallPredecessors = 4;  // StallReport::kMaxPredecessors

// One task of a stall snapshot. state: StallReport::Task::State.
struct StallTaskRecord {
  uint64_t task;
  uint32_t func_id;
  uint32_t core_type;
  uint32_t state;
  uint32_t reserved;
};
// A not-started task and (up to kStallPredecessors of) the `unmet` predecessors it waits on.
struct StallWaitingRecord {
  StallTaskRecord task;
  uint32_t unmet;
  uint32_t listed;  // entries of `predecessors` written
  StallTaskRecord predecessors[kStallPredecessors];
};
// Plain data, written by the reporter before it publishes `answer` (release) and copied out by
// the host after reading it (acquire). found: the run was live on the device.
struct StallSnapshot {
  uint64_t run;
  uint32_t found;
  uint32_t count;  // entries of `waiting` written
  uint64_t not_started;
  StallWaitingRecord waiting[kStallTasks];
};
struct StallSection {
  std::atomic<uint32_t> request;  // host: bumped for each snapshot asked for (futex word)
  std::atomic<uint32_t> answer;   // device: `request` once the snapshot of `run` is written
  std::atomic<uint64_t> run;      // host: the run to describe, written before `request`
  StallSnapshot snapshot;
};

struct StatusPage {
  uint32_t magic;
  uint32_t version;
  std::atomic<uint32_t> threads;  // records claimed so far
  uint32_t reserved;
  ThreadRecord records[kMaxThreadRecords];
  // Advanced by the device by the completed tasks (counted per batch of chains a core runs) and
  // on every orchestration call of the run that the host gave this slot; the host watches it,
  // and the thread records, to tell a stalled run from a slow one.
  std::atomic<uint64_t> progress[kMaxRuns];
  // The device's cache of graph replays, written by the device whenever it changes: its
  // entries, the host memory they hold (container capacities), the most they ever held, and
  // the entries dropped to stay within the bound / because the host dropped their graph.
  struct ReplayCache {
    std::atomic<uint64_t> entries;
    std::atomic<uint64_t> bytes;
    std::atomic<uint64_t> peak_bytes;
    std::atomic<uint64_t> evictions;
    std::atomic<uint64_t> drops;
  } replays;
  // Code loaded (memfd + dlopen) and unloaded (dlclose), counted by the device as it does each:
  // the figure behind every "code loads" chiprt reports, never derived from what the host asked.
  struct Code {
    std::atomic<uint64_t> loads;
    std::atomic<uint64_t> unloads;
  } code;
  // The device's cache of code no handle names any more, written by the device whenever it
  // changes: entries and their object bytes, loads it answered from the cache (hits) and loads
  // it did not (misses: loaded afresh), entries unloaded to stay within the bounds.
  struct CodeCache {
    std::atomic<uint64_t> entries;
    std::atomic<uint64_t> bytes;
    std::atomic<uint64_t> hits;
    std::atomic<uint64_t> misses;
    std::atomic<uint64_t> evictions;
  } code_cache;
  // The execution threads (the cores' pool) parked waiting for work, written by the pool as a
  // thread parks and wakes: what a test waits on, instead of sleeping, before a run that must
  // find the pool asleep.
  std::atomic<uint32_t> parked_execution_threads;
  // Per progress slot: what the run's orchestration is doing (StallReport::Orchestration),
  // stored by the device at each change.
  std::atomic<uint32_t> orchestration[kMaxRuns];
  StallSection stall;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "the status page must be lock-free");

// Appends fields to a payload.
class WireWriter {
 public:
  template <typename T>
  WireWriter& put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
    return *this;
  }
  WireWriter& put_string(std::string_view s) {
    put(static_cast<uint32_t>(s.size()));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    bytes_.insert(bytes_.end(), p, p + s.size());
    return *this;
  }
  template <typename T>
  WireWriter& put_array(const T* values, uint32_t count) {
    put(count);
    const auto* p = reinterpret_cast<const std::byte*>(values);
    bytes_.insert(bytes_.end(), p, p + sizeof(T) * count);
    return *this;
  }
  std::vector<std::byte>& bytes() { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<std::byte> bytes_;
};

// Reads fields from a payload; every read is bounds-checked and a short payload makes ok()
// false (values read after that are zero).
class WireReader {
 public:
  WireReader(const std::byte* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    if (!take(sizeof(T))) return value;
    std::memcpy(&value, data_ + at_ - sizeof(T), sizeof(T));
    return value;
  }
  std::string get_string() {
    const uint32_t n = get<uint32_t>();
    if (!take(n)) return {};
    return std::string(reinterpret_cast<const char*>(data_ + at_ - n), n);
  }
  template <typename T>
  std::vector<T> get_array() {
    const uint32_t n = get<uint32_t>();
    std::vector<T> out;
    if (n > (size_ - at_) / sizeof(T)) {
      ok_ = false;
      return out;
    }
    out.resize(n);
    if (n > 0) std::memcpy(out.data(), data_ + at_, sizeof(T) * n);
    at_ += sizeof(T) * n;
    return out;
  }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }  // a value read was out of its range
  size_t position() const { return at_; }

 private:
  bool take(size_t n) {
    if (!ok_ || n > size_ - at_) {
      ok_ = false;
      return false;
    }
    at_ += n;
    return true;
  }
  const std::byte* data_;
  size_t size_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace chiprt::device::protocol

// DeviceRuntime: the device process's side of the device protocol (src/device/protocol.h).
//
// One thread (the process's main thread) reads the control channel and serves it: code loads
// (memfd + dlopen of bytes copied from this process's view of device memory), unloads, and
// launches. After launching a graph it runs the graph's first ready tasks itself for at most
// kHelpBudget (checked between chains) while the cores' threads wake, then goes back to the
// channel; a graph whose last run took less than kHelpBudget it runs alone, waking the cores'
// threads only for what is left when the budget is spent. The chip's AICPU threads run tmr
// orchestrations; its logical AIC/AIV cores run kernels on one execution pool; both start with the
// process, so no run pays for them. Device memory is allocated by asking the host (kAlloc), which
// owns the bookkeeping; each run's requests are attributed to it. The status page records what each
// thread runs and each run's progress, for the host to read.
// Code whose last handle is unloaded may stay loaded in the code cache (code_cache.h).
//
// Thread safety: serve() runs on one thread; everything it starts may call the channel and the
// request table from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chiprt/abi/orchestration.h"
#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "code_cache.h"
#include "device/channel.h"
#include "device/shared_memory.h"
#include "runtime/common/kernel_table.h"
#include "runtime/hbg/graph.h"
#include "runtime/scheduler/aicpu_pool.h"
#include "runtime/scheduler/core_pool.h"

namespace chiprt::device_process {

class StatusRecorder;
class StallReporter;

class DeviceRuntime {
 public:
  DeviceRuntime(ChipProfile profile, device::Channel& channel, device::SharedMemory& memory,
                device::protocol::StatusPage& status, runtime::AicpuPool& aicpu,
                runtime::CorePool& cores);
  ~DeviceRuntime();

  // Serves the channel until the host shuts the device down or goes away.
  void serve();

  // For the run memory of each launch (thread-safe).
  Result<DeviceAddr> allocate(uint64_t run, uint64_t bytes, MemoryTag tag);
  void free(uint64_t run, DeviceAddr addr);
  std::byte* view(DeviceAddr addr, uint64_t bytes) const;
  const ChipProfile& profile() const { return profile_; }

 private:
  struct AllocWait;
  void load(uint64_t request, device::protocol::WireReader& in);
  // Unloads the code a kUnload names (if loaded) and answers it with kUnloaded.
  void unload(uint64_t request, device::protocol::WireReader& in);
  void launch_orchestration(uint64_t run, device::protocol::WireReader& in);
  void launch_graph(uint64_t run, device::protocol::WireReader& in);
  // A checked graph launch (see GraphRun's check mode): its tasks run on an AICPU thread.
  void launch_checked_graph(uint64_t run, uint32_t slot, const runtime::DeviceGraphHeader& header,
                            uint64_t graph_bytes, const runtime::KernelTable& table,
                            std::vector<uint64_t> tensor_addrs, bool trace, LaunchCheck check);
  void alloc_reply(uint64_t request, device::protocol::WireReader& in);
  // Decodes a launch's kernel table; `handles` (if given) receives each kernel's code handle.
  Result<runtime::KernelTable> kernels(device::protocol::WireReader& in,
                                       std::vector<uint64_t>* handles = nullptr) const;
  // Whether a decoded launch may start (its kernel table resolved and its fields `valid`);
  // otherwise answers the run with why, naming `what` was malformed.
  bool decoded(uint64_t run, const Result<runtime::KernelTable>& table, bool valid,
               std::string_view what);
  void send_done(uint64_t run, const Result<LaunchResult>& result);
  struct Replay;
  Result<std::shared_ptr<Replay>> prepare_replay(const runtime::DeviceGraphHeader& header,
                                                 uint64_t graph_bytes,
                                                 const runtime::KernelTable& table);
  // Points each of the replay's tensor parameters at this launch's tensors, unless they are
  // where the last launch had them.
  Status place_tensors(Replay& replay, std::vector<uint64_t> tensor_addrs) const;
  // The cached replay of `graph_id` set up with the same code, claimed for one run; or null.
  // Graphs are immutable once uploaded and ids are never reused; graph id 0 is never cached.
  std::shared_ptr<Replay> cached_replay(uint32_t graph_id,
                                        const std::vector<uint64_t>& kernel_handles);
  // Caches `replay` (its bytes counted now), then evicts the oldest beyond `limit_bytes`.
  void cache_replay(uint32_t graph_id, const std::shared_ptr<Replay>& replay, uint64_t limit_bytes);
  // The host dropped graph `graph_id`: so does the cache (kForgetGraph).
  void forget_replay(uint64_t graph_id);
  // Publishes the cache's figures on the status page; replays_mutex_ held.
  void publish_replays();

  const ChipProfile profile_;
  device::Channel& channel_;
  device::SharedMemory& memory_;
  device::protocol::StatusPage& status_;
  runtime::AicpuPool& aicpu_;
  runtime::CorePool& cores_;
  std::unique_ptr<StatusRecorder> recorder_;
  std::unique_ptr<StallReporter> stall_reporter_;  // answers the host's stall snapshots

  mutable std::mutex code_mutex_;
  // By handle: the loaded code, and (when it may be cached at its unload) what it was loaded
  // from.
  std::unordered_map<uint64_t, CodeCache::Entry> code_;
  uint64_t next_handle_ = 1;
  CodeCache code_cache_;  // the channel thread's

  // A tmr orchestration whose last run took less than kAloneBudget runs its tasks on its own
  // thread for up to that long (TmrLaunch::alone_for). After kRetryAlone runs spread over the
  // cores' threads, one runs alone again: a run may have been long only because it was spread
  // (on a machine where moving work between threads is slow for a while). Likewise for graph
  // replays on the channel thread. By orchestration code handle.
  static constexpr std::chrono::microseconds kAloneBudget{1000};
  static constexpr uint32_t kRetryAlone = 8;
  struct RunHistory {
    std::chrono::nanoseconds last{-1};  // negative: none yet
    uint32_t spread = 0;                // runs since the last one that ran alone
    // Whether the next run runs alone (within `budget`); counts it.
    bool next_alone(std::chrono::nanoseconds budget) {
      const bool alone = (last.count() >= 0 && last < budget) || spread >= kRetryAlone;
      spread = alone ? 0 : spread + 1;
      return alone;
    }
  };
  std::mutex tmr_runs_mutex_;
  std::unordered_map<uint64_t, RunHistory> tmr_runs_;

  // How long the channel thread helps the cores with a graph it launched (see launch_graph).
  static constexpr std::chrono::microseconds kHelpBudget{200};
  std::mutex replays_mutex_;
  // By graph id: oldest upload first. An entry lives while the host keeps its graph (it sends
  // kForgetGraph when it drops it) and the bound of the launches allows.
  std::map<uint32_t, std::shared_ptr<Replay>> replays_;
  uint64_t replay_bytes_ = 0;  // host bytes of the cached replays, by container capacity
  uint64_t replay_peak_bytes_ = 0;
  uint64_t replay_evictions_ = 0;
  uint64_t replay_drops_ = 0;

  std::mutex alloc_mutex_;
  std::unordered_map<uint64_t, AllocWait*> alloc_waits_;
  uint64_t next_request_ = 1;
};

}  // namespace chiprt::device_process

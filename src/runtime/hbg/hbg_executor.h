// HbgExecutor: the host-built-graph runtime of one worker. A run looks up a graph recorded for
// the same callable and arguments; on a miss the orchestration runs in the worker's
// orchestration sandbox (a process of its own), the host's GraphRecorder checks and records
// every call it made, and the graph is uploaded to device memory and cached. The replay places
// the run's tensors and heap in device memory and launches the graph: the device executes its
// copy on the chip's cores through the same GraphRun dispatcher as tmr; no orchestration code
// ever reaches the device (I7).
//
// Device memory per run: inputs and outputs (tagged tensor) are freed when the run ends. The
// intermediates live in a heap of the worker (HeapPool, tagged runtime: made at the first run
// whose graph has intermediates, reused by later runs, freed at finalize) at the offsets the
// recorder gave them. Cached graphs (tagged runtime, reported as RunReport::runtime_fixed_bytes)
// stay, bounded by the cache's entry and byte bounds, and are freed with their callable (forget)
// or on eviction.
//
// Thread safety: run() and forget() may be called from many threads at once.
#pragma once

#include <memory>

#include "runtime/common/heap_pool.h"
#include "runtime/executor.h"
#include "runtime/hbg/graph_cache.h"
#include "runtime/hbg/orchestration_sandbox.h"

namespace chiprt::runtime {

class HbgExecutor final : public Executor {
 public:
  HbgExecutor(Device& device, const WorkerOptions& options);
  Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args,
                        const LaunchCheck& check, std::vector<CheckWrite>* writes) override;
  // The cached graph, or one recorded now (and cached): never replayed.
  Result<RunReport> graph(const registry::ChipBuffer& buffer, const RunArgs& args) override;
  void forget(uint64_t generation) noexcept override { cache_.forget(generation); }
  void release_memory() noexcept override { heaps_.release_all(); }
  uint64_t heap_bytes_reserved() const override { return heaps_.reserved_bytes(); }
  uint64_t heaps() const override { return heaps_.heaps(); }
  WorkerStats::GraphCache graph_cache() const override;

 private:
  // The graph of a run of `buffer` with `args`: from the cache, or recorded, uploaded and cached.
  struct Found {
    std::shared_ptr<const DeviceGraph> graph;
    bool hit = false;
    uint64_t entry_calls = 0;  // counted by the sandbox at each call of the entry it records
    double record_us = 0;      // the recording's, when not a hit
    uint64_t fixed_bytes = 0;  // graph memory seen: the cache, plus the new graph before eviction
  };
  Result<Found> find_or_record(const registry::ChipBuffer& buffer, const RunArgs& args);
  Result<RunReport> replay(const registry::ChipBuffer& buffer, const DeviceGraph& graph,
                           const RunArgs& args, const LaunchCheck& check,
                           std::vector<CheckWrite>* writes);

  Device& device_;
  const uint64_t heap_limit_;
  const Deadlines deadlines_;
  const uint64_t replay_cache_bytes_;
  GraphCache cache_;
  HeapPool heaps_;
};

}  // namespace chiprt::runtime

// HbgExecutor: the host-built-graph runtime of one worker. A run looks up a graph recorded for
// the same callable and arguments; on a miss the GraphRecorder runs the orchestration on the
// host (this thread) and the graph is uploaded to device memory and cached. The replay places
// the run's tensors and heap in device memory and launches the graph: the device executes its
// copy on the chip's cores through the same GraphRun dispatcher as tmr; no orchestration code
// ever reaches the device (I7).
//
// Device memory per run: inputs and outputs (tagged tensor) and the intermediate heap (tagged
// runtime) are freed when the run ends; cached graphs (tagged runtime) stay, bounded by the
// cache's entry and byte bounds, and are freed with their callable (forget) or on eviction.
//
// Thread safety: run() and forget() may be called from many threads at once.
#pragma once

#include <memory>

#include "runtime/executor.h"
#include "runtime/hbg/graph_cache.h"

namespace chiprt::runtime {

class HbgExecutor final : public Executor {
 public:
  HbgExecutor(Device& device, const WorkerOptions& options);
  Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args) override;
  void forget(uint64_t generation) noexcept override { cache_.forget(generation); }
  WorkerStats::GraphCache graph_cache() const override;

 private:
  Result<RunReport> replay(const registry::ChipBuffer& buffer, const DeviceGraph& graph,
                           const RunArgs& args);

  Device& device_;
  const uint64_t heap_limit_;
  const Deadlines deadlines_;
  GraphCache cache_;
};

}  // namespace chiprt::runtime

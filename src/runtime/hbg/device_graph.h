// DeviceGraph: a recorded graph uploaded to device memory (one allocation tagged `runtime`),
// plus the host-side facts a replay needs (tensor table layout, heap size). Immutable once
// made, so concurrent replays share it; it frees its device memory when the last holder lets go.
#pragma once

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "chiprt/device.h"
#include "runtime/hbg/graph.h"

namespace chiprt::runtime {

// Tells the device to drop what it keeps for a graph (its replay) when the host drops the graph:
// the last holder of a DeviceGraph (the cache, or a run still replaying it after eviction) lets
// go on unregister, eviction, reset and finalize alike. Move-only.
class GraphOnDevice {
 public:
  GraphOnDevice() = default;
  GraphOnDevice(Device& device, uint32_t graph_id) : device_(&device), graph_id_(graph_id) {}
  GraphOnDevice(GraphOnDevice&& other) noexcept
      : device_(std::exchange(other.device_, nullptr)), graph_id_(other.graph_id_) {}
  GraphOnDevice& operator=(GraphOnDevice&& other) noexcept {
    if (this != &other) {
      reset();
      device_ = std::exchange(other.device_, nullptr);
      graph_id_ = other.graph_id_;
    }
    return *this;
  }
  GraphOnDevice(const GraphOnDevice&) = delete;
  GraphOnDevice& operator=(const GraphOnDevice&) = delete;
  ~GraphOnDevice() { reset(); }
  void reset() noexcept {
    if (device_ != nullptr) std::exchange(device_, nullptr)->forget_graph(graph_id_);
  }
  uint32_t graph_id() const { return graph_id_; }

 private:
  Device* device_ = nullptr;  // borrowed: outlives every graph uploaded to it
  uint32_t graph_id_ = 0;
};

struct DeviceGraph {
  uint64_t generation = 0;  // of the callable buffer it was recorded from
  GraphKey key;
  std::vector<GraphTensor> tensors;
  uint64_t heap_bytes = 0;
  uint64_t task_count = 0;
  uint64_t serialized_bytes = 0;  // of the device copy (the allocation may be larger)
  uint64_t edge_count = 0;        // as the serialized header states it
  std::vector<TaskEdge> edges;    // with their kinds, for traces
  // Each task's (func_id, core type), for a graph of a run that is not replayed.
  std::vector<std::pair<uint32_t, uint32_t>> task_kernels;
  uint64_t host_bytes = 0;  // what it holds in host memory: see graph_host_bytes
  DeviceBuffer memory;
  GraphOnDevice on_device;  // declared last: the device forgets the graph before its memory goes

  uint64_t device_bytes() const { return memory.size(); }
};

// The host memory a DeviceGraph occupies, counted by what its containers and strings allocate
// (capacities, not element counts) plus the object and its shared_ptr control block.
uint64_t graph_host_bytes(const DeviceGraph& graph);

// Serializes and uploads `graph`; out_of_device_memory or unavailable on failure.
Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph);

}  // namespace chiprt::runtime

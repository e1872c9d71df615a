// DeviceGraph: a recorded graph uploaded to device memory (one allocation tagged `runtime`),
// plus the host-side facts a replay needs (tensor table layout, heap size). Immutable once
// made, so concurrent replays share it; it frees its device memory when the last holder lets go.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "chiprt/device.h"
#include "runtime/hbg/graph.h"

namespace chiprt::runtime {

struct DeviceGraph {
  uint64_t generation = 0;  // of the callable buffer it was recorded from
  GraphKey key;
  std::vector<GraphTensor> tensors;
  uint64_t heap_bytes = 0;
  uint64_t task_count = 0;
  uint64_t serialized_bytes = 0;  // of the device copy (the allocation may be larger)
  uint64_t edge_count = 0;        // as the serialized header states it
  DeviceBuffer memory;

  uint64_t device_bytes() const { return memory.size(); }
};

// Serializes and uploads `graph`; out_of_device_memory or unavailable on failure.
Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph);

}  // namespace chiprt::runtime

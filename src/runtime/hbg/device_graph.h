// DeviceGraph: a recorded graph uploaded to device memory (one allocation tagged `runtime`),
// plus the host-side facts a replay needs (tensor table layout, kernel entries of the leased
// callable). Immutable once made, so concurrent replays share it; it frees its device memory
// when the last holder lets go.
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
  std::vector<chiprt_kernel_entry_fn> entries;
  uint64_t heap_bytes = 0;
  DeviceBuffer memory;
  // Views of the device copy (through the device's host mapping): what the replay reads.
  std::span<const DeviceGraphTask> tasks;
  std::span<const chiprt_param_t> params;
  std::span<const uint32_t> successors;

  uint64_t device_bytes() const { return memory.size(); }
};

// Serializes and uploads `graph`; out_of_device_memory or unavailable on failure.
Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph);

}  // namespace chiprt::runtime

#include "runtime/hbg/device_graph.h"

#include <cstring>

namespace chiprt::runtime {

Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph) {
  const std::vector<std::byte> bytes = graph.serialize();
  auto out = std::make_shared<DeviceGraph>();
  out->generation = generation;
  out->key = std::move(graph.key);
  out->tensors = std::move(graph.tensors);
  out->heap_bytes = graph.heap_bytes;
  out->task_count = graph.tasks.size();
  out->serialized_bytes = bytes.size();
  DeviceGraphHeader header;
  std::memcpy(&header, bytes.data(), sizeof header);
  out->edge_count = header.edge_count;
  CHIPRT_ASSIGN_OR_RETURN(out->memory, device.allocate(bytes.size(), MemoryTag::runtime));
  CHIPRT_RETURN_IF_ERROR(device.copy_to_device(out->memory.addr(), bytes));
  return std::shared_ptr<const DeviceGraph>(std::move(out));
}

}  // namespace chiprt::runtime

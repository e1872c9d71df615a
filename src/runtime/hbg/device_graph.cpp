#include "runtime/hbg/device_graph.h"

#include <atomic>
#include <cstring>

namespace chiprt::runtime {

Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph) {
  static std::atomic<uint32_t> next_graph_id{1};
  uint32_t graph_id = next_graph_id.fetch_add(1);
  if (graph_id == 0) graph_id = next_graph_id.fetch_add(1);  // 0 means "not cached"
  const std::vector<std::byte> bytes = graph.serialize(graph_id);
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
  out->on_device = GraphOnDevice(device, graph_id);
  return std::shared_ptr<const DeviceGraph>(std::move(out));
}

}  // namespace chiprt::runtime

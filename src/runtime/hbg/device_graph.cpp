#include "runtime/hbg/device_graph.h"

namespace chiprt::runtime {

Result<std::shared_ptr<const DeviceGraph>> upload_graph(Device& device, uint64_t generation,
                                                        RecordedGraph graph) {
  const std::vector<std::byte> bytes = graph.serialize();
  auto out = std::make_shared<DeviceGraph>();
  out->generation = generation;
  out->key = std::move(graph.key);
  out->tensors = std::move(graph.tensors);
  out->entries = std::move(graph.entries);
  out->heap_bytes = graph.heap_bytes;
  CHIPRT_ASSIGN_OR_RETURN(out->memory, device.allocate(bytes.size(), MemoryTag::runtime));
  CHIPRT_RETURN_IF_ERROR(device.copy_to_device(out->memory.addr(), bytes));
  const std::byte* base = device.host_pointer(out->memory.addr(), bytes.size());
  if (base == nullptr) return Status(StatusCode::unavailable, "device memory is not host-visible");
  const auto* header = reinterpret_cast<const DeviceGraphHeader*>(base);
  const auto* tasks = reinterpret_cast<const DeviceGraphTask*>(base + sizeof(DeviceGraphHeader));
  const auto* params = reinterpret_cast<const chiprt_param_t*>(tasks + header->task_count);
  const auto* successors = reinterpret_cast<const uint32_t*>(params + header->param_count);
  out->tasks = {tasks, header->task_count};
  out->params = {params, header->param_count};
  out->successors = {successors, header->edge_count};
  return std::shared_ptr<const DeviceGraph>(std::move(out));
}

}  // namespace chiprt::runtime

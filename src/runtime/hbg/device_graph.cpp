#include "runtime/hbg/device_graph.h"

#include <atomic>
#include <cstring>

namespace chiprt::runtime {

namespace {

// libstdc++ keeps strings of up to 15 characters inside the object.
uint64_t string_heap_bytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

template <typename T>
uint64_t vector_heap_bytes(const std::vector<T>& v) {
  return v.capacity() * sizeof(T);
}

}  // namespace

uint64_t graph_host_bytes(const DeviceGraph& graph) {
  // make_shared's single block: the object and the control block (two counts and a vtable).
  uint64_t bytes = sizeof(DeviceGraph) + 2 * sizeof(void*);
  bytes += vector_heap_bytes(graph.tensors);
  for (const GraphTensor& t : graph.tensors) bytes += string_heap_bytes(t.name);
  bytes += vector_heap_bytes(graph.key.tensors);
  for (const GraphKey::TensorRead& read : graph.key.tensors) {
    bytes += string_heap_bytes(read.name) + vector_heap_bytes(read.shape);
  }
  bytes += vector_heap_bytes(graph.key.scalars);
  bytes += vector_heap_bytes(graph.edges) + vector_heap_bytes(graph.task_kernels);
  for (const GraphKey::ScalarRead& read : graph.key.scalars) bytes += string_heap_bytes(read.name);
  return bytes;
}

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
  out->edges = std::move(graph.edges);
  out->task_kernels.reserve(graph.tasks.size());
  for (const DeviceGraphTask& t : graph.tasks)
    out->task_kernels.emplace_back(t.func_id, t.core_type);
  out->serialized_bytes = bytes.size();
  DeviceGraphHeader header;
  std::memcpy(&header, bytes.data(), sizeof header);
  out->edge_count = header.edge_count;
  out->host_bytes = graph_host_bytes(*out);
  CHIPRT_ASSIGN_OR_RETURN(out->memory, device.allocate(bytes.size(), MemoryTag::runtime));
  CHIPRT_RETURN_IF_ERROR(device.copy_to_device(out->memory.addr(), bytes));
  out->on_device = GraphOnDevice(device, graph_id);
  return std::shared_ptr<const DeviceGraph>(std::move(out));
}

}  // namespace chiprt::runtime

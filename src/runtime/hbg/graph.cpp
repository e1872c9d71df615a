#include "runtime/hbg/graph.h"

#include <cstring>

namespace chiprt::runtime {

bool GraphKey::matches(const RunArgs& args) const {
  for (const TensorRead& r : tensors) {
    auto it = args.tensors.find(r.name);
    if ((it != args.tensors.end()) != r.present) return false;
    if (r.present && (it->second.dtype != r.dtype || it->second.shape != r.shape)) return false;
  }
  for (const ScalarRead& r : scalars) {
    auto it = args.scalars.find(r.name);
    if ((it != args.scalars.end()) != r.value.has_value()) return false;
    // Bitwise, so -0.0 and 0.0 (which an orchestration may tell apart) are different keys.
    if (r.value && std::memcmp(&*r.value, &it->second, sizeof(double)) != 0) return false;
  }
  return true;
}

std::vector<std::byte> RecordedGraph::serialize(uint32_t graph_id) const {
  const DeviceGraphHeader header{kGraphMagic,
                                 static_cast<uint32_t>(tasks.size()),
                                 static_cast<uint32_t>(views.size()),
                                 static_cast<uint32_t>(refs.size()),
                                 static_cast<uint32_t>(successors.size()),
                                 graph_id};
  std::vector<std::byte> out(sizeof header + tasks.size() * sizeof(DeviceGraphTask) +
                             views.size() * sizeof(chiprt_param_t) +
                             refs.size() * sizeof(uint32_t) + successors.size() * sizeof(uint32_t));
  std::byte* at = out.data();
  auto put = [&](const void* src, size_t n) {
    if (n) std::memcpy(at, src, n);
    at += n;
  };
  put(&header, sizeof header);
  put(tasks.data(), tasks.size() * sizeof(DeviceGraphTask));
  put(views.data(), views.size() * sizeof(chiprt_param_t));
  put(refs.data(), refs.size() * sizeof(uint32_t));
  put(successors.data(), successors.size() * sizeof(uint32_t));
  return out;
}

}  // namespace chiprt::runtime

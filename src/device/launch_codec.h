// Encoding of the launch fields both sides of the device protocol exchange (see protocol.h):
// kernel lists, tensor lists and traces.
#pragma once

#include <vector>

#include "chiprt/launch.h"
#include "protocol.h"

namespace chiprt::device::protocol {

struct WireKernel {
  uint32_t func_id;
  uint32_t core;
  uint64_t handle;
};

inline void put_tensors(WireWriter& w, const std::vector<LaunchTensor>& tensors) {
  w.put(static_cast<uint32_t>(tensors.size()));
  for (const LaunchTensor& t : tensors) {
    w.put_string(t.name).put(t.dtype).put(t.ndim).put(t.shape).put(t.addr).put(t.bytes);
  }
}

inline std::vector<LaunchTensor> get_tensors(WireReader& r) {
  std::vector<LaunchTensor> out;
  const uint32_t n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    LaunchTensor t;
    t.name = r.get_string();
    t.dtype = r.get<uint32_t>();
    t.ndim = r.get<uint32_t>();
    t.shape = r.get<decltype(t.shape)>();
    t.addr = r.get<uint64_t>();
    t.bytes = r.get<uint64_t>();
    out.push_back(std::move(t));
  }
  return out;
}

inline void put_trace(WireWriter& w, const std::vector<TaskTrace>& trace) {
  std::vector<TraceRecord> records;
  records.reserve(trace.size());
  for (const TaskTrace& t : trace) {
    records.push_back({t.task_id, t.func_id, t.core_type, t.core_index, 0, t.start_us, t.end_us});
  }
  w.put_array(records.data(), static_cast<uint32_t>(records.size()));
}

inline std::vector<TaskTrace> get_trace(WireReader& r) {
  std::vector<TaskTrace> out;
  for (const TraceRecord& t : r.get_array<TraceRecord>()) {
    out.push_back({t.task_id, t.func_id, t.core_type, t.core_index, t.start_us, t.end_us});
  }
  return out;
}

}  // namespace chiprt::device::protocol

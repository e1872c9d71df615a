// Encoding of the launch fields both sides of the device protocol exchange (see protocol.h):
// kernel lists, tensor lists, traces, check settings and check findings.
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

// A launch's trace: its tasks, edges and orchestration spans.
inline void put_trace(WireWriter& w, const std::vector<TaskTrace>& trace,
                      const std::vector<TaskEdge>& edges_in = {},
                      const std::vector<OrchestrationSpan>& spans_in = {}) {
  std::vector<TraceRecord> records;
  records.reserve(trace.size());
  for (const TaskTrace& t : trace) {
    records.push_back(
        {t.task_id, t.func_id, t.core_type, t.core_index, 0, t.start_us, t.end_us, t.submit_us});
  }
  w.put_array(records.data(), static_cast<uint32_t>(records.size()));
  std::vector<TraceEdgeRecord> edges;
  edges.reserve(edges_in.size());
  for (const TaskEdge& e : edges_in) edges.push_back({e.from, e.to, e.kinds, 0});
  w.put_array(edges.data(), static_cast<uint32_t>(edges.size()));
  std::vector<TraceSpanRecord> spans;
  spans.reserve(spans_in.size());
  for (const OrchestrationSpan& s : spans_in) {
    spans.push_back({static_cast<uint32_t>(s.kind), 0, s.task_id, s.start_us, s.end_us});
  }
  w.put_array(spans.data(), static_cast<uint32_t>(spans.size()));
}

// Reads what put_trace() wrote into `result`; a span of an unknown kind or an edge with unknown
// kind bits makes the reader fail (the device's message is then malformed).
inline void get_trace(WireReader& r, LaunchResult& result) {
  for (const TraceRecord& t : r.get_array<TraceRecord>()) {
    result.trace.push_back(
        {t.task_id, t.func_id, t.core_type, t.core_index, t.start_us, t.end_us, t.submit_us});
  }
  for (const TraceEdgeRecord& e : r.get_array<TraceEdgeRecord>()) {
    if (e.kinds == 0 || (e.kinds & ~kDependencyKinds) != 0) r.fail();
    result.edges.push_back({e.from, e.to, e.kinds});
  }
  for (const TraceSpanRecord& s : r.get_array<TraceSpanRecord>()) {
    if (s.kind > OrchestrationSpan::replay) r.fail();
    result.orchestration.push_back(
        {static_cast<OrchestrationSpan::Kind>(s.kind), s.task_id, s.start_us, s.end_us});
  }
}

inline void put_check(WireWriter& w, const LaunchCheck& check) {
  w.put(uint8_t{check.serial}).put(check.seed).put(uint8_t{check.memcheck}).put(check.poison);
  w.put(static_cast<uint32_t>(check.tensors.size()));
  for (const LaunchCheck::Tensor& t : check.tensors) {
    w.put_string(t.name).put_string(t.label).put(t.dtype).put(t.bytes).put(uint8_t{t.fresh});
  }
}

inline LaunchCheck get_check(WireReader& r) {
  LaunchCheck check;
  check.serial = r.get<uint8_t>() != 0;
  check.seed = r.get<uint64_t>();
  check.memcheck = r.get<uint8_t>() != 0;
  check.poison = r.get<uint8_t>();
  const uint32_t n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    LaunchCheck::Tensor t;
    t.name = r.get_string();
    t.label = r.get_string();
    t.dtype = r.get<uint32_t>();
    t.bytes = r.get<uint64_t>();
    t.fresh = r.get<uint8_t>() != 0;
    check.tensors.push_back(std::move(t));
  }
  return check;
}

inline void put_findings(WireWriter& w, const std::vector<CheckFinding>& findings,
                         uint64_t dropped) {
  w.put(static_cast<uint32_t>(findings.size()));
  for (const CheckFinding& f : findings) {
    w.put_string(f.check).put(uint8_t{f.has_task}).put(f.task_id).put(f.func_id);
    w.put(f.core_type).put(f.core_index).put_string(f.tensor).put_string(f.unit);
    w.put(f.begin).put(f.end).put_string(f.message);
  }
  w.put(dropped);
}

// At most `limit` findings are kept; the rest count as dropped.
inline std::vector<CheckFinding> get_findings(WireReader& r, uint64_t& dropped, size_t limit) {
  std::vector<CheckFinding> out;
  const uint32_t n = r.get<uint32_t>();
  dropped = 0;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    CheckFinding f;
    f.check = r.get_string();
    f.has_task = r.get<uint8_t>() != 0;
    f.task_id = r.get<uint64_t>();
    f.func_id = r.get<uint32_t>();
    f.core_type = r.get<uint32_t>();
    f.core_index = r.get<uint32_t>();
    f.tensor = r.get_string();
    f.unit = r.get_string();
    f.begin = r.get<uint64_t>();
    f.end = r.get<uint64_t>();
    f.message = r.get_string();
    if (out.size() < limit) {
      out.push_back(std::move(f));
    } else {
      ++dropped;
    }
  }
  dropped += r.get<uint64_t>();
  return out;
}

inline void put_writes(WireWriter& w, const std::vector<CheckWrite>& writes) {
  w.put(static_cast<uint32_t>(writes.size()));
  for (const CheckWrite& c : writes) {
    w.put_string(c.tensor).put(c.begin).put(c.end).put(c.task_id).put(c.func_id);
    w.put(c.core_type).put(c.core_index);
  }
}

inline std::vector<CheckWrite> get_writes(WireReader& r, size_t limit) {
  std::vector<CheckWrite> out;
  const uint32_t n = r.get<uint32_t>();
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    CheckWrite c;
    c.tensor = r.get_string();
    c.begin = r.get<uint64_t>();
    c.end = r.get<uint64_t>();
    c.task_id = r.get<uint64_t>();
    c.func_id = r.get<uint32_t>();
    c.core_type = r.get<uint32_t>();
    c.core_index = r.get<uint32_t>();
    if (out.size() < limit) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace chiprt::device::protocol

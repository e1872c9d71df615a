// Run arguments and reports: host tensors in, host tensors out; or tensors that stay in device
// memory (see DeviceTensor in worker.h), named by reference and never copied through the host.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "chiprt/abi/tensor.h"
#include "chiprt/bytes.h"
#include "chiprt/check.h"
#include "chiprt/stall_report.h"

namespace chiprt {

// A dense row-major host tensor.
struct HostTensor {
  uint32_t dtype = CHIPRT_DTYPE_F32;
  std::vector<int64_t> shape;
  Bytes data;  // element_count() * dtype size bytes

  uint64_t element_count() const {
    uint64_t n = 1;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    return n;
  }
};

// A dense row-major tensor already in device memory, borrowed for one run (its owner, usually a
// DeviceTensor, keeps it alive until the run returns). `device` names the device that holds it
// (checked by the run when set), `addr` is element 0 and `bytes` = element_count() * dtype size.
struct DeviceTensorRef {
  uint32_t dtype = CHIPRT_DTYPE_F32;
  std::vector<int64_t> shape;
  uint64_t addr = 0;
  uint64_t bytes = 0;
  const void* device = nullptr;
};

// Tensor arguments are named once: a name is a host tensor, a device input, or neither.
// Outputs named in `device_outputs` are written into the caller's device tensor (whose dtype and
// shape must be those of the output, or the run fails with invalid_argument) and are not read
// back into RunReport::outputs; every other output is.
struct RunArgs {
  std::map<std::string, HostTensor> tensors;
  std::map<std::string, DeviceTensorRef> device_inputs;
  std::map<std::string, DeviceTensorRef> device_outputs;
  std::map<std::string, double> scalars;
  bool trace = false;  // record one TaskTrace per executed task in RunReport::trace
  // A stop request ends the waiting run() with `cancelled` within 100 ms. A run stopped before
  // its launch reaches the device is withdrawn and the device stays healthy; once the device
  // executes it (kernels, or a tmr orchestration, running), it is cancelled as a missed
  // deadline is: the device process is killed and the device is lost until reset().
  std::stop_token stop;
  // Checks for this run (chiprt/check.h); unset: the worker's (WorkerOptions::checks).
  std::optional<Checks> checks;
  // Borrowed, nullable: a checked run fills it, also when it fails with check_failed (whose
  // message carries the first finding only).
  CheckReport* check_report = nullptr;
  // Borrowed, nullable: a run that fails with deadline_exceeded because it made no progress
  // for its stall deadline fills it (chiprt/stall_report.h); other runs leave it untouched.
  StallReport* stall_report = nullptr;
};

// One executed task: which core ran it and when (microseconds from the start of the run on the
// device). submit_us: when the orchestration submitted it (tmr); 0 on hbg, whose graph is whole
// before the replay starts.
struct TaskTrace {
  uint64_t task_id = 0;
  uint32_t func_id = 0;
  uint32_t core_type = 0;  // chiprt_core_type_t
  uint32_t core_index = 0;
  double start_us = 0;
  double end_us = 0;
  double submit_us = 0;
};

// Why a task waits for another: the kinds of overlap between their tensor views (a bit set).
enum DependencyKind : uint32_t {
  kReadAfterWrite = 1,   // RAW: the task reads what the earlier one writes
  kWriteAfterRead = 2,   // WAR: the task writes what the earlier one reads
  kWriteAfterWrite = 4,  // WAW: both write
  // hbg: the task's intermediate takes heap bytes an intermediate of the earlier task used in a
  // scope that has ended (the recorder orders the reuse; tmr orders it by retirement instead).
  kMemoryReuse = 8,
};
inline constexpr uint32_t kDependencyKinds = 15;  // all the bits
// "RAW", "WAR", "WAW", "reuse", joined by '+' when several.
std::string dependency_kind_names(uint32_t kinds);

// One dependency edge of a traced run: task `to` started after task `from` ended. Every edge
// the runtime derived, also those to tasks that had finished already when the later one was
// submitted.
struct TaskEdge {
  uint64_t from = 0;
  uint64_t to = 0;
  uint32_t kinds = 0;  // DependencyKind bits
};

// What the orchestration did, on its own track of a traced run (same clock as TaskTrace).
// tmr: `entry` (the orchestration function), `submit` (one per task), and the waits: `ring`
// (ring full), `heap` (heap full), `sync`, `drain` (after the entry returned, for the run's
// tasks). hbg: `record` (the host recording the graph, ending at 0; absent when the graph was
// replayed from the cache) and `replay` (the device replaying it).
struct OrchestrationSpan {
  enum Kind : uint32_t { entry, submit, ring, heap, sync, drain, record, replay };
  Kind kind = entry;
  uint64_t task_id = 0;  // submit: the task submitted
  double start_us = 0;
  double end_us = 0;
};
const char* orchestration_span_name(OrchestrationSpan::Kind kind);

struct RunReport {
  std::map<std::string, HostTensor> outputs;
  uint64_t tasks = 0;
  double elapsed_us = 0;
  uint64_t peak_ring_occupancy = 0;
  uint64_t peak_heap_bytes = 0;
  bool graph_cache_hit = false;  // hbg: replayed a recorded graph
  uint64_t graph_bytes = 0;      // hbg: device bytes of the graph run
  uint64_t graph_edges = 0;      // hbg: dependency edges of the graph run (its header's)
  // Times the orchestration entry was called for this run, counted at the call (tmr: by the
  // device; hbg: by the sandbox that records it): 1, or 0 for an hbg replay of a cached graph.
  uint64_t orchestration_calls = 0;
  uint64_t graph_cache_bytes = 0;  // hbg: device bytes held by the worker's graph cache after
  // Device bytes tagged runtime that the run used besides the worker's intermediate heap (the
  // fixed runtime structures), counted where they are allocated. hbg: the graph cache with this
  // run's graph in it (a recorded graph is uploaded before the LRU evicts); tmr: 0, its launch
  // tables travel with the launch message and its intermediates live in the heap.
  uint64_t runtime_fixed_bytes = 0;
  // The run's limits, for its high-water marks above (ring: tmr only).
  uint64_t ring_slots = 0;
  uint64_t heap_limit_bytes = 0;
  // When RunArgs::trace: every executed task, every dependency edge and the orchestration track.
  std::vector<TaskTrace> trace;
  std::vector<TaskEdge> edges;
  std::vector<OrchestrationSpan> orchestration;
  std::optional<CheckReport> checks;  // a checked run's (then without findings: it passed)
  // func_id -> name of every kernel of the run's callable: the image's kernel-name table, or
  // "func N" for each kernel of an image without one (chiprt::default_kernel_name).
  std::map<uint32_t, std::string> kernel_names;
};

}  // namespace chiprt

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
};

// One executed task: which core ran it and when (microseconds from the run's start).
struct TaskTrace {
  uint64_t task_id = 0;
  uint32_t func_id = 0;
  uint32_t core_type = 0;  // chiprt_core_type_t
  uint32_t core_index = 0;
  double start_us = 0;
  double end_us = 0;
};

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
  std::vector<TaskTrace> trace;       // when RunArgs::trace
  std::optional<CheckReport> checks;  // a checked run's (then without findings: it passed)
  // func_id -> name of every kernel of the run's callable: the image's kernel-name table, or
  // "func N" for each kernel of an image without one (chiprt::default_kernel_name).
  std::map<uint32_t, std::string> kernel_names;
};

}  // namespace chiprt

// Launches: what a runtime hands a device to execute, and what comes back.
//
// The host prepares everything a run reads in device memory (inputs, for hbg the graph, its
// tensors and heap) and names it by device address; the device runs the orchestration (tmr) or
// the graph (hbg) with the chip's AICPU threads and cores. Code is named by the opaque entry
// token of a LoadedCode that the device's code loader returned (LoadedCode::entry()).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "chiprt/abi/tensor.h"
#include "chiprt/check.h"
#include "chiprt/image.h"
#include "chiprt/run.h"

namespace chiprt {

class DeviceBuffer;
using DeviceAddr = uint64_t;

struct LaunchKernel {
  uint32_t func_id = 0;
  CoreType core = CoreType::aiv;
  const void* code = nullptr;  // LoadedCode::entry() of the kernel, from the device's loader
};

// A dense row-major tensor in device memory.
struct LaunchTensor {
  std::string name;
  uint32_t dtype = CHIPRT_DTYPE_F32;
  uint32_t ndim = 0;
  std::array<int64_t, CHIPRT_MAX_DIMS> shape{};
  DeviceAddr addr = 0;
  uint64_t bytes = 0;
};

// Limits of one launch. The run fails with deadline_exceeded (and the device is lost) when it
// takes longer than `run`, or when neither a task completes nor the orchestration calls the
// runtime for `stall`; with `cancelled` (the device lost the same way) once `stop` is requested.
struct Deadlines {
  std::chrono::milliseconds run{std::chrono::seconds(300)};
  std::chrono::milliseconds stall{std::chrono::seconds(30)};
  std::stop_token stop;
  // Borrowed, nullable: filled when the run misses its stall deadline (RunArgs::stall_report).
  StallReport* stall_report = nullptr;
  // The callable's kernel names (func_id -> name; nullable), for the stall message.
  std::shared_ptr<const std::map<uint32_t, std::string>> kernel_names;
};

// A checked launch (chiprt/check.h): its tasks run one at a time, in an order drawn from `seed`
// among the ready ones (each on a core drawn from `seed` and its task id, so both runtimes place
// a task alike). `memcheck`: each task's writes are compared with the writable views it declared.
// `poison` non-zero: fresh outputs and intermediates are filled with that byte before any task.
struct LaunchCheck {
  bool serial = false;
  uint64_t seed = 0;
  bool memcheck = false;
  uint8_t poison = 0;
  // hbg: per graph tensor, what the device cannot know from its address: its name in findings,
  // its size, dtype and whether it is fresh (an output or intermediate, poisoned).
  struct Tensor {
    std::string name;   // "y", "intermediate 2"
    std::string label;  // "output 'y'", "intermediate 2 (alloc_tensor call 2)"
    uint32_t dtype = CHIPRT_DTYPE_F32;
    uint64_t bytes = 0;
    bool fresh = false;
  };
  std::vector<Tensor> tensors;
};

// tmr: the device runs the orchestration on an AICPU thread.
struct OrchestrationLaunch {
  const void* orchestration = nullptr;  // LoadedCode::entry() of the orchestration
  std::vector<LaunchKernel> kernels;
  std::vector<LaunchTensor> inputs;
  std::vector<std::pair<std::string, double>> scalars;
  uint32_t ring_slots = 0;
  // The intermediate heap lent to this run: heap_bytes of device memory at heap_addr, which the
  // host keeps allocated until the launch returns (the worker's HeapPool).
  uint64_t heap_bytes = 0;
  DeviceAddr heap_addr = 0;
  bool trace = false;
  std::string label;  // names the callable in the orchestration's log lines
  LaunchCheck check;
};

// hbg: the device replays a graph the host recorded and placed in device memory.
struct GraphLaunch {
  DeviceAddr graph = 0;
  uint64_t graph_bytes = 0;
  std::vector<LaunchKernel> kernels;
  std::vector<DeviceAddr> tensors;  // per graph tensor: the address of its element 0
  bool trace = false;
  // Host bytes the device may keep for replays of cached graphs (their set-up); beyond it the
  // oldest go. Each is dropped anyway when the host forgets its graph (Device::forget_graph).
  uint64_t replay_cache_bytes = 64ull << 20;
  LaunchCheck check;  // a checked launch is set up afresh: it neither uses nor fills that cache
};

// What a task of a memchecked launch wrote into a tensor (elements [begin, end), changed ones
// and the stretches between them): names the task behind a later finding on those elements.
struct CheckWrite {
  std::string tensor;
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t task_id = 0;
  uint32_t func_id = 0;
  uint32_t core_type = 0;
  uint32_t core_index = 0;
};

struct LaunchResult {
  uint64_t tasks = 0;
  uint64_t peak_ring_occupancy = 0;
  uint64_t peak_heap_bytes = 0;
  uint64_t orchestration_calls = 0;
  std::vector<LaunchTensor> outputs;  // tmr: allocated by the device during the run
  std::vector<TaskTrace> trace;       // when the launch asked for a trace: tasks, edges (tmr) and
  std::vector<TaskEdge> edges;        // the orchestration's track
  std::vector<OrchestrationSpan> orchestration;
  std::vector<CheckFinding> findings;  // a checked launch's memcheck findings
  uint64_t findings_dropped = 0;       // beyond CheckReport::kMaxFindings
  std::vector<CheckWrite> writes;      // in execution order, at most kMaxCheckWrites
  static constexpr size_t kMaxCheckWrites = 1 << 16;
  // Device memory the device allocated for this run and still holds (the outputs): freed when
  // the result is destroyed, so read the outputs first.
  std::vector<DeviceBuffer> allocations;
};

}  // namespace chiprt

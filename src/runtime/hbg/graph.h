// The host-built graph: what the hbg recorder produces, the compact form uploaded to device
// memory, and the key that decides when a recorded graph may be replayed.
//
// Device layout (one allocation tagged `runtime`, read by the device's replay, which resolves
// each task's func_id in the leased callable's kernel table): DeviceGraphHeader, then task_count
// DeviceGraphTask, then view_count distinct chiprt_param_t (tensor views carry the recording's
// handles), then ref_count uint32_t view indices (a task's parameters are refs [first_param,
// first_param + param_count)), then edge_count uint32_t successor indices. Parameters are
// stored once per distinct value because one is larger than a task's whole budget: a chain of
// in-place tasks on one tensor costs a task record, its refs and one edge per task. Tasks are
// in submission order; every successor index is greater than its task's index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/run.h"
#include "runtime/common/tensor_table.h"

namespace chiprt::runtime {

inline constexpr uint32_t kGraphMagic = 0x48424732u;  // "HBG2"

struct DeviceGraphHeader {
  uint32_t magic;
  uint32_t task_count;
  uint32_t view_count;
  uint32_t ref_count;
  uint32_t edge_count;
  // Unique per upload by this host process (never 0): the device keeps a graph's expanded
  // parameters under it, so a replay of a cached graph does not expand them again.
  uint32_t graph_id;
};

struct DeviceGraphTask {
  uint32_t func_id;
  uint32_t core_type;
  uint32_t first_param;
  uint32_t param_count;
  uint32_t dep_count;
  uint32_t first_successor;
  uint32_t successor_count;
  uint32_t reserved;
};

// A tensor of the graph, in handle order (handle = kHandleBase + index).
struct GraphTensor {
  TensorKind kind;
  std::string name;  // inputs and outputs
  uint32_t dtype;
  uint32_t ndim;
  int64_t shape[CHIPRT_MAX_DIMS];
  uint64_t bytes;
  uint64_t heap_offset;  // intermediates
};

// What the orchestration read while recording: a later run whose arguments read the same
// replays the graph.
struct GraphKey {
  struct TensorRead {
    std::string name;
    bool present;
    uint32_t dtype;
    std::vector<int64_t> shape;
  };
  struct ScalarRead {
    std::string name;
    std::optional<double> value;
  };
  std::vector<TensorRead> tensors;
  std::vector<ScalarRead> scalars;
  bool matches(const RunArgs& args) const;
};

struct RecordedGraph {
  GraphKey key;
  std::vector<GraphTensor> tensors;
  std::vector<DeviceGraphTask> tasks;
  std::vector<chiprt_param_t> views;  // distinct parameter values
  std::vector<uint32_t> refs;         // per task parameter: its index in views
  std::vector<uint32_t> successors;
  std::vector<TaskEdge> edges;  // host only: the dependencies with their kinds, in task order
  uint64_t heap_bytes = 0;      // peak heap use of the intermediates (reused across scopes)

  // The compact device form.
  std::vector<std::byte> serialize(uint32_t graph_id) const;
};

}  // namespace chiprt::runtime

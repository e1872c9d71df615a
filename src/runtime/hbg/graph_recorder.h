// GraphRecorder: the hbg front end of the orchestration table. It records, instead of executing,
// every task the orchestration submits, with its dependencies. The orchestration itself runs in
// the orchestration sandbox (a process of its own: user code never runs in the host), against a
// recorder of its own there; the host's recorder is driven by the calls the sandbox reports, so
// every task that reaches the device was checked by the host. Tasks are checked and
// dependencies derived exactly as on tmr (check_task, TensorMap), so both runtimes accept the
// same tasks and order dependent work the same way.
//
// Intermediates are placed in a heap of `heap_limit` bytes (IntermediateScopes, as on tmr; the
// replay lends the worker's heap) and their blocks are freed as soon as their scope closes, so
// later intermediates reuse them. The replay runs tasks of different scopes at once, so a task
// touching reused bytes is ordered after the earlier users of those bytes (HeapReuseOrder).
// Single-threaded: one recorder per recording, used by the thread that runs the entry.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <functional>

#include "chiprt/device.h"
#include "chiprt/run.h"
#include "runtime/common/intermediate_scopes.h"
#include "runtime/common/kernel_table.h"
#include "runtime/common/orch_backend.h"
#include "runtime/common/task_check.h"
#include "runtime/common/tensor_table.h"
#include "runtime/common/tensormap.h"
#include "runtime/hbg/graph.h"
#include "runtime/hbg/heap_reuse_order.h"

namespace chiprt::runtime {

class GraphRecorder final : public OrchBackend {
 public:
  // `check_input_bytes` false: host tensors of `args` carry dtype and shape only (the sandbox's
  // recorder, which never sees data); the host's recorder checks their bytes.
  GraphRecorder(Device& device, KernelTable kernels, std::string name, const RunArgs& args,
                uint64_t heap_limit, bool check_input_bytes = true);
  // Drives the orchestration once against this recorder (`drive` returns the entry's return
  // code, or why it did not return) and returns the graph it described.
  using Drive = std::function<Result<int32_t>(OrchBackend&)>;
  Result<RecordedGraph> record(const Drive& drive);

  int32_t get_tensor_arg(const char* name, chiprt_tensor_t* out) override;
  int32_t get_scalar_arg(const char* name, double* out) override;
  int32_t alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t alloc_output(const char* name, uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t scope_begin() override;
  int32_t scope_end() override;
  int32_t submit_task(const chiprt_task_t* task) override;
  int32_t sync() override { return failure_.ok() ? CHIPRT_ORCH_OK : CHIPRT_ORCH_FAILED; }
  void log(const char* message) override;

 private:
  int32_t reject(int32_t code, Status why);
  uint64_t add_tensor(TensorRecord record, GraphTensor tensor);
  // Adds to task_deps_ what task `task` must follow because its intermediates reuse heap bytes.
  void order_heap_reuse(uint64_t task, const CheckedTask& checked);
  // The index of `param` among the graph's distinct parameter values, adding it if new.
  uint32_t view_index(const chiprt_param_t& param);

  const KernelTable kernels_;
  const std::string name_;
  const RunArgs& args_;
  const bool check_input_bytes_;
  TensorTable table_;  // records only: recording allocates no device memory
  TensorMap map_;
  RecordedGraph graph_;
  std::vector<std::pair<uint32_t, uint32_t>> edges_;  // (dependency, task), in task order
  std::vector<uint64_t> overlap_deps_;                // the current task's, from the tensormap
  std::vector<uint32_t> dep_kinds_;                   // and their kinds
  // Keys are the bytes of the copies in view_keys_ (a deque: they never move).
  std::deque<chiprt_param_t> view_keys_;
  std::unordered_map<std::string_view, uint32_t> view_index_;
  std::set<std::string> scalars_read_;
  TaskAccesses accesses_;
  std::vector<uint64_t> task_deps_;
  IntermediateScopes intermediates_;
  HeapReuseOrder reuse_;
  Status failure_;
  std::string last_error_;
};

}  // namespace chiprt::runtime

// TmrRun: one run of a callable on the device-orchestration runtime, inside the device.
//
// The orchestration entry (loaded from the callable's single device copy) runs on an AICPU
// thread and calls this object through the orchestration table. Each submitted task gets a
// ring slot, its dependencies from the TensorMap, and goes to the shared GraphRun dispatcher;
// core threads run it and retire() hands the slot and heap space back.
//
// Memory (through `memory`, the device's view of its memory for this run): inputs are placed
// by the host and only named here. Outputs are device buffers tagged `tensor` whose ownership
// passes to the host with the result. Intermediates live inside the heap the host lent this run
// (TmrLaunch::heap_addr, heap_bytes: one device buffer tagged `runtime` of the worker's
// HeapPool), placed and scoped by IntermediateScopes: no intermediate allocates device memory,
// so the heap limit bounds the device memory intermediates use.
//
// Thread safety: the OrchBackend calls come from the one AICPU thread running the entry;
// retire() from core threads; everything they share is guarded by mutex_, except slot `busy`,
// ring occupancy and waiting_, which are atomics so that retiring a task without
// intermediates takes no lock (see retire()).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "chiprt/device.h"
#include "runtime/check/task_checker.h"
#include "runtime/common/intermediate_scopes.h"
#include "runtime/common/kernel_table.h"
#include "runtime/common/orch_backend.h"
#include "runtime/common/tensor_table.h"
#include "runtime/common/tensormap.h"
#include "runtime/scheduler/graph_run.h"
#include "runtime/tmr/task_ring.h"

namespace chiprt::runtime {

struct TmrLimits {
  uint32_t ring_slots;
  uint64_t heap_bytes;
};

// Everything one tmr run reads besides device memory.
struct TmrLaunch {
  const void* orchestration = nullptr;  // entry point
  KernelTable kernels;                  // entry points
  std::vector<LaunchTensor> inputs;     // placed by the host
  std::map<std::string, double> scalars;
  TmrLimits limits{};
  DeviceAddr heap_addr = 0;  // limits.heap_bytes of device memory lent to this run
  bool trace = false;
  std::function<void(std::string_view)> log;  // orchestration log lines
  // Non-zero: the orchestration's thread runs the tasks itself for up to this long, without
  // waking the cores' threads (a run expected to be that short: spreading it over threads
  // costs more in wake-ups and cache lines moving between them than it saves); then, or at the
  // end of the orchestration, the cores' threads are woken for what is left.
  std::chrono::microseconds alone_for{0};
  // A checked run (see GraphRun's check mode); `device_memory` is this process's whole view of
  // device memory, which memcheck's margins stay inside.
  LaunchCheck check;
  std::span<std::byte> device_memory;
};

class TmrRun final : public GraphRun, public OrchBackend {
 public:
  TmrRun(Device& memory, CorePool& cores, TmrLaunch launch);
  ~TmrRun() override;

  // Names the inputs (each must lie inside device memory).
  Status prepare();
  // On the AICPU thread: runs the entry, closes its scopes, then closes the run.
  void orchestrate();
  // After the run finished: its status (kernel failures first), outputs (their memory now the
  // caller's) and counters.
  Result<LaunchResult> result();

  int32_t get_tensor_arg(const char* name, chiprt_tensor_t* out) override;
  int32_t get_scalar_arg(const char* name, double* out) override;
  int32_t alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t alloc_output(const char* name, uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t scope_begin() override;
  int32_t scope_end() override;
  int32_t submit_task(const chiprt_task_t* task) override;
  int32_t sync() override;
  void log(const char* message) override;

 protected:
  void retire(uint32_t node) override;

 private:
  int32_t reject(int32_t code, Status why);  // remembers why for the run's error message
  // submit_task's work; may throw (host allocation), never with the slot taken.
  int32_t submit_checked(const chiprt_task_t& task, uint64_t id);
  int32_t submit_untraced(const chiprt_task_t& task, uint64_t id);
  int32_t submit_traced(const chiprt_task_t& task, uint64_t id, double start_us);
  // What retiring a slot's task does: releases its intermediates and frees the slot.
  void release_slot(TaskSlot& slot);
  void end_scope_locked();
  // Instead of parking for tasks to complete: when tasks are queued, runs one (and up to
  // kHelpChain - 1 of the successors it frees) on this thread with `lock` released (retiring may
  // take it) and returns true: `lock` is as it was, but what it guards may have changed. False
  // (lock untouched) when no task was queued: then the caller parks. Parked, the orchestration
  // thread's wake-up is on the run's critical path every time the ring fills; running the tasks
  // itself needs none.
  bool help_while_waiting(std::unique_lock<std::mutex>& lock);
  // Ends TmrLaunch::alone_for: later tasks wake the cores' threads, which get what is queued.
  void stop_alone();
  static constexpr uint64_t kHelpChain = 32;

  Device& device_;
  const TmrLaunch launch_;

  std::mutex mutex_;
  std::condition_variable progress_;  // a slot or heap space was freed
  // What the submitting thread waits for. Waiting for a ring slot, it is woken only once the
  // ring has drained to half (then submits a batch), not on every completion. It is set
  // (under mutex_) before the waiter checks its condition, and a retire reads it after
  // changing that condition (both seq_cst), so one of them always sees the other.
  enum class Wait { none, slot, any };
  std::atomic<Wait> waiting_{Wait::none};
  TensorTable tensors_;
  TaskRing ring_;
  IntermediateScopes intermediates_;
  std::byte* heap_ = nullptr;  // the lent heap in this process's view of device memory

  // Submitting thread only.
  bool alone_ = false;
  std::chrono::steady_clock::time_point alone_until_;
  bool made_intermediates_ = false;
  TensorMap map_;
  uint64_t next_task_ = 0;
  TaskAccesses accesses_;
  std::vector<uint64_t> deps_;
  std::vector<Dependency> edges_;
  // A traced run's: each task's submit time (by task id), dependency edges and kinds, and the
  // orchestration track.
  std::vector<uint32_t> dep_kinds_;
  std::vector<double> submitted_us_;
  std::vector<TaskEdge> trace_edges_;
  std::vector<OrchestrationSpan> spans_;
  double entry_end_us_ = 0;
  // Records an orchestration span from `start_us` to now, when tracing.
  void span(OrchestrationSpan::Kind kind, double start_us, uint64_t task = 0);
  uint64_t intermediates_made_ = 0;  // alloc_tensor calls that made one: names them in findings
  std::unique_ptr<TaskChecker> checker_;  // a checked run's
  int32_t orch_rc_ = 0;
  uint64_t orchestration_calls_ = 0;  // entry calls, made by orchestrate()
  std::string last_error_;
};

}  // namespace chiprt::runtime

// StallReport: what a run that missed its stall deadline was waiting for.
//
// When a launched run makes no progress for WorkerOptions::stall_timeout, the host asks the
// device for a snapshot of the run (the device's stall reporter answers even when every
// execution thread is stuck in a kernel that never returns), waits at most
// kSnapshotWait for it, and then kills the device process as before. The run fails with
// deadline_exceeded; its message says what describe_stall() says, and a caller that set
// RunArgs::stall_report gets the same as data.
//
// Everything in it was read from memory the device process writes: the host validated it
// (counts clamped, unknown states dropped), but it describes what user code may have scribbled.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace chiprt {

struct StallReport {
  // What the run's orchestration was doing. tmr: the device orchestration's last wait; hbg: the
  // device replays a recorded graph (its orchestration ran before the launch).
  enum class Orchestration : uint32_t {
    unknown = 0,              // not published (or not a value the host knows)
    in_user_code = 1,         // running the orchestration's own code
    ring_full = 2,            // waiting for a task ring slot
    heap_full = 3,            // waiting for heap space for an intermediate
    in_sync = 4,              // in sync(), waiting for every submitted task
    finished_submitting = 5,  // the orchestration returned; only tasks are left
    replaying = 6,            // hbg: replaying the recorded graph
  };
  static constexpr size_t kMaxWaiting = 8;       // oldest waiting tasks described
  static constexpr size_t kMaxPredecessors = 4;  // unmet predecessors named per waiting task
  static constexpr std::chrono::milliseconds kSnapshotWait{200};

  struct Task {
    enum class State : uint32_t {
      waiting = 0,  // not started: predecessors unmet
      ready = 1,    // not started: every predecessor done, no core has taken it yet
      running = 2,  // its kernel was running
    };
    uint64_t task_id = 0;
    uint32_t func_id = 0;
    uint32_t core_type = 0;  // chiprt_core_type_t: the core type it runs (or will run) on
    State state = State::waiting;
    // running: the core index its thread ran it as (when a thread record names the task).
    bool core_known = false;
    uint32_t core_index = 0;
  };
  struct Waiting {
    Task task;
    uint32_t unmet = 0;          // predecessors not finished (may exceed those listed)
    std::vector<Task> waits_on;  // up to kMaxPredecessors of them, oldest first
  };

  uint64_t run = 0;
  double stalled_for_s = 0;  // the stall deadline the run missed
  Orchestration orchestration = Orchestration::unknown;
  // Whether the device answered the snapshot request in time (then `waiting` is its answer;
  // otherwise only `running`, from the thread records, is known).
  bool snapshot = false;
  uint64_t not_started = 0;      // tasks of the run not started when the snapshot was taken
  std::vector<Waiting> waiting;  // the oldest not-started tasks, oldest first
  std::vector<Task> running;     // kernels of the run its threads were running
};

// "in user code", "ring full", ...
std::string_view orchestration_name(StallReport::Orchestration state) noexcept;

// A task as messages name it: "task 2 (func 1)", or "task 2 (func 1 'add')" when
// `kernel_names` (func_id -> kernel name, nullable) names its func. Every task chiprt prints in
// a stall report goes through here.
using KernelNames = std::map<uint32_t, std::string>;
std::string task_label(uint64_t task_id, uint32_t func_id, const KernelNames* kernel_names);

// The report as one line: "task 2 (func 2) waits on task 1 (func 1), running on aiv core 0;
// orchestration: finished submitting".
std::string describe_stall(const StallReport& report, const KernelNames* kernel_names = nullptr);

}  // namespace chiprt

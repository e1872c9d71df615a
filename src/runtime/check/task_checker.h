// TaskChecker: memcheck and the poison of initcheck inside one checked run, on the device.
//
// The run names each of its tensors once (add_tensor: the handle its views carry, its element 0
// in this process's view of device memory, its size). Tasks of a checked run execute one at a
// time, so everything that changes in device memory while a kernel runs is that kernel's doing:
// before() copies each tensor the task names, plus kMargin bytes either side of it, and after()
// compares. A changed byte
// - inside a tensor the task names but outside every writable view (output, inout) of it that
//   the task declared defeats dependency inference: a finding naming the elements;
// - outside every tensor the task names (past its end or before its start, up to kMargin
//   bytes): a finding naming the tensor it ran past and the bytes.
// Two tasks that no chain of dependencies orders but whose writes (the stretches memcheck saw
// change) overlap race on the chip whichever order this schedule took: a racecheck finding
// naming both (for runs of up to kMaxOrderedTasks tasks).
//
// Consecutive bytes of one kind coalesce into one finding. Not seen by the snapshot: a write that
// stores the value already there, or one further than kMargin from every tensor the task names.
// guard() adds guard pages (see PageGuard) around the kernel: any access, read or write, to a
// page that holds no byte of the tensors the task names is a finding too.
//
// Not thread-safe: a checked run calls it from the one thread that executes its tasks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "chiprt/check.h"
#include "chiprt/launch.h"
#include "runtime/check/page_guard.h"
#include "runtime/scheduler/task_desc.h"

namespace chiprt::runtime {

class TaskChecker {
 public:
  static constexpr uint64_t kMargin = 16 * 1024;
  // Changed bytes this close together are one stretch.
  static constexpr size_t kSlack = 8;
  static constexpr uint64_t kMaxOrderedTasks = 8192;

  // `memory`: this process's whole view of device memory (margins stay inside it).
  TaskChecker(std::span<std::byte> memory, bool memcheck, uint8_t poison);

  // A tensor of the run, by the handle its views carry. `fresh` ones (outputs, intermediates)
  // are filled with the poison byte now, when there is one. A handle named again replaces the
  // earlier record.
  void add_tensor(uint64_t handle, std::byte* host, uint64_t bytes, uint32_t dtype,
                  std::string name, std::string label, bool fresh);

  // Task `task` waits for each of `predecessors` (given before it runs). Given as the task is
  // submitted (tmr), it is also ordered after every task finished by then: the orchestration
  // saw them finish (a ring slot or heap space they freed, a sync) before it submitted it.
  void depends(uint64_t task, std::span<const uint64_t> predecessors);

  void before(const TaskDesc& task);
  // After before(), for the kernel's duration: guard pages around the tensors the task names
  // (null when memcheck is off).
  std::unique_ptr<PageGuard> guard() const;
  // `faults`: the guard's, taken before it was released.
  void after(const TaskDesc& task, uint32_t core_index, std::span<const PageGuard::Fault> faults);

  std::vector<CheckFinding> take_findings() { return std::move(findings_); }
  // What each task wrote into each tensor, in execution order (see CheckWrite).
  std::vector<CheckWrite> take_writes() { return std::move(writes_); }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Tensor {
    std::byte* host = nullptr;
    uint64_t bytes = 0;
    uint32_t element = 1;  // bytes per element
    std::string name;
    std::string label;
  };
  // A stretch of memory copied before the task: the tensors it names and their margins.
  struct Region {
    std::byte* begin;
    std::byte* end;
    size_t snapshot;  // offset in snapshot_
  };
  // A stretch of changed bytes [begin, end) (not all of them need have changed), which held
  // `was` before the task.
  void report(const TaskDesc& task, uint32_t core_index, const std::byte* begin,
              const std::byte* end, const std::byte* was);
  void add(CheckFinding finding);
  // A memcheck finding of `task` on `tensor`: "memcheck: task ... <what>".
  void add_memcheck(const TaskDesc& task, uint32_t core_index, const Tensor& tensor,
                    std::string unit, uint64_t begin, uint64_t end, std::string what);
  // A finding for an access at `address`, outside every tensor the task names.
  void report_outside(const TaskDesc& task, uint32_t core_index, const std::byte* address,
                      bool write);
  // Whether element `e` of tensor `handle` lies in a writable view the task declared.
  bool writable(const TaskDesc& task, uint64_t handle, uint64_t e);

  const std::span<std::byte> memory_;
  const bool memcheck_;
  const uint8_t poison_;
  std::unordered_map<uint64_t, Tensor> tensors_;

  // Of the task being checked.
  std::vector<uint64_t> named_;  // handles, distinct
  std::vector<Region> regions_;
  std::vector<std::byte> snapshot_;
  std::unordered_map<uint64_t, std::vector<bool>> writable_;  // by handle, made on demand

  std::vector<CheckFinding> findings_;
  std::vector<CheckWrite> writes_;
  // Whether `earlier` is an ancestor of `task` (by the dependencies given), from bitsets made as
  // tasks run: a task's ancestors are its predecessors' and the predecessors themselves.
  bool ordered(uint64_t earlier, uint64_t task) const;
  void note_ancestors(uint64_t task);
  void check_overlaps(size_t first_new_write);
  std::unordered_map<uint64_t, std::vector<uint64_t>> predecessors_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> ancestors_;  // bitsets by task
  std::unordered_map<std::string, std::vector<size_t>> writes_by_tensor_;
  std::unordered_map<std::string, std::string> labels_;     // by tensor name
  uint64_t finished_ = 0;                                   // tasks checked so far
  std::unordered_map<uint64_t, uint64_t> finish_order_;     // by task: finished_ when it ended
  std::unordered_map<uint64_t, uint64_t> submitted_after_;  // by task: finished_ at depends()
  uint64_t dropped_ = 0;
};

}  // namespace chiprt::runtime

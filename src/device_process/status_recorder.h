// StatusRecorder: writes what each device thread is running into the status page (see
// protocol.h), so the host can name the kernel or orchestration that was running when the
// device process died. Each thread claims one record the first time it reports; writes are
// relaxed atomics with the state word last (release), safe to leave half-done by a crash.
#pragma once

#include "device/protocol.h"
#include "runtime/scheduler/graph_run.h"

namespace chiprt::device_process {

class StatusRecorder final : public runtime::ExecutionMonitor {
 public:
  explicit StatusRecorder(device::protocol::StatusPage& page) : page_(page) {}

  // A kernel may run on a thread that was doing something else (an orchestration running ready
  // tasks while it waits for a ring slot): kernel_end() puts the record back to that.
  void kernel_begin(uint64_t run, const runtime::TaskDesc& task,
                    uint32_t core_index) noexcept override {
    if (device::protocol::ThreadRecord* r = record()) {
      resume() = {r->state.load(std::memory_order_relaxed), r->run.load(std::memory_order_relaxed)};
      r->run.store(run, std::memory_order_relaxed);
      r->task.store(task.task_id, std::memory_order_relaxed);
      r->func_id.store(task.func_id, std::memory_order_relaxed);
      r->core_type.store(static_cast<uint32_t>(task.core), std::memory_order_relaxed);
      r->core_index.store(core_index, std::memory_order_relaxed);
      r->state.store(device::protocol::ThreadRecord::kernel, std::memory_order_release);
    }
  }
  void kernel_end() noexcept override {
    if (device::protocol::ThreadRecord* r = record()) {
      const Resume was = resume();
      r->run.store(was.run, std::memory_order_relaxed);
      r->state.store(was.state, std::memory_order_release);
    }
  }

  void orchestration_begin(uint64_t run) noexcept {
    if (device::protocol::ThreadRecord* r = record()) {
      r->run.store(run, std::memory_order_relaxed);
      r->state.store(device::protocol::ThreadRecord::orchestration, std::memory_order_release);
    }
  }
  void idle() noexcept {
    if (device::protocol::ThreadRecord* r = record()) {
      r->state.store(device::protocol::ThreadRecord::idle, std::memory_order_release);
    }
  }

 private:
  device::protocol::ThreadRecord* record() noexcept {
    thread_local device::protocol::ThreadRecord* mine = nullptr;
    thread_local bool claimed = false;
    if (!claimed) {
      claimed = true;
      const uint32_t index = page_.threads.fetch_add(1, std::memory_order_relaxed);
      if (index < device::protocol::kMaxThreadRecords) mine = &page_.records[index];
    }
    return mine;
  }
  struct Resume {
    uint32_t state = device::protocol::ThreadRecord::idle;
    uint64_t run = 0;
  };
  static Resume& resume() noexcept {
    thread_local Resume was;
    return was;
  }
  device::protocol::StatusPage& page_;
};

}  // namespace chiprt::device_process

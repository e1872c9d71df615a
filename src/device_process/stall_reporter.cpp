#include "stall_reporter.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "base/thread_name.h"

namespace chiprt::device_process {
namespace {

namespace protocol = device::protocol;

// Not FUTEX_PRIVATE_FLAG: the word is in memory shared with the host.
void futex_wait(std::atomic<uint32_t>& word, uint32_t seen) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, seen, nullptr, nullptr, 0);
}
void futex_wake(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

protocol::StallTaskRecord record(const runtime::GraphRun::StallTask& task) {
  return {task.task_id, task.func_id, task.core_type, static_cast<uint32_t>(task.state), 0};
}

}  // namespace

StallReporter::StallReporter(protocol::StatusPage& page) : page_(page) {
  thread_ = std::thread([this] {
    name_this_thread("chiprt-stall");
    serve();
  });
}

StallReporter::~StallReporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  // The request word is the host's; a wake-up with it unchanged only makes serve() look at
  // stopping_.
  futex_wake(page_.stall.request);
  thread_.join();
}

void StallReporter::add(uint64_t run, runtime::GraphRun& graph) {
  std::lock_guard lock(mutex_);
  runs_[run] = &graph;
}

void StallReporter::remove(uint64_t run) {
  std::lock_guard lock(mutex_);
  runs_.erase(run);
}

void StallReporter::describe(runtime::GraphRun* graph, uint64_t run, protocol::StallSnapshot& out) {
  out = protocol::StallSnapshot{};
  out.run = run;
  if (graph == nullptr) return;
  out.found = 1;
  runtime::GraphRun::StallView view;
  graph->describe_stall(view);
  out.not_started = view.not_started;
  out.count = std::min<uint32_t>(view.count, protocol::kStallTasks);
  for (uint32_t i = 0; i < out.count; ++i) {
    const runtime::GraphRun::StallWaiting& w = view.waiting[i];
    protocol::StallWaitingRecord& r = out.waiting[i];
    r.task = record(w.task);
    r.unmet = w.unmet;
    r.listed = std::min<uint32_t>(w.listed, protocol::kStallPredecessors);
    for (uint32_t k = 0; k < r.listed; ++k) r.predecessors[k] = record(w.predecessors[k]);
  }
}

void StallReporter::serve() {
  protocol::StallSection& section = page_.stall;
  uint32_t answered = section.request.load(std::memory_order_acquire);
  for (;;) {
    futex_wait(section.request, answered);
    const uint32_t request = section.request.load(std::memory_order_acquire);
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    if (request == answered) continue;  // spurious
    answered = request;
    const uint64_t run = section.run.load(std::memory_order_relaxed);
    auto it = runs_.find(run);
    describe(it == runs_.end() ? nullptr : it->second, run, section.snapshot);
    section.answer.store(request, std::memory_order_release);
  }
}

}  // namespace chiprt::device_process

#include "device/stall_page.h"

#include <algorithm>
#include <optional>

namespace chiprt::device {
namespace {

std::optional<StallReport::Task> read_task(const protocol::StallTaskRecord& r,
                                           std::span<const StallReport::Task> running) {
  using State = StallReport::Task::State;
  if (r.state > static_cast<uint32_t>(State::running) || r.core_type > 1) return std::nullopt;
  StallReport::Task t;
  t.task_id = r.task;
  t.func_id = r.func_id;
  t.core_type = r.core_type;
  t.state = static_cast<State>(r.state);
  if (t.state == State::running) {
    for (const StallReport::Task& k : running) {
      if (k.task_id != t.task_id || k.func_id != t.func_id) continue;
      t.core_known = true;
      t.core_type = k.core_type;
      t.core_index = k.core_index;
      break;
    }
  }
  return t;
}

}  // namespace

StallReport read_stall_snapshot(const protocol::StallSnapshot* snapshot, uint64_t run,
                                uint32_t orchestration,
                                std::span<const StallReport::Task> running) {
  StallReport report;
  report.run = run;
  report.running.assign(running.begin(), running.end());
  if (orchestration <= static_cast<uint32_t>(StallReport::Orchestration::replaying)) {
    report.orchestration = static_cast<StallReport::Orchestration>(orchestration);
  }
  if (snapshot == nullptr || snapshot->run != run || snapshot->found != 1) return report;
  report.snapshot = true;
  report.not_started = snapshot->not_started;
  const uint32_t count = std::min(snapshot->count, protocol::kStallTasks);
  for (uint32_t i = 0; i < count; ++i) {
    const protocol::StallWaitingRecord& r = snapshot->waiting[i];
    auto task = read_task(r.task, running);
    if (!task || task->state == StallReport::Task::State::running) continue;
    StallReport::Waiting w;
    w.task = *task;
    const uint32_t listed = std::min(r.listed, protocol::kStallPredecessors);
    for (uint32_t k = 0; k < listed; ++k) {
      if (auto p = read_task(r.predecessors[k], running)) w.waits_on.push_back(*p);
    }
    w.unmet = std::max<uint32_t>(r.unmet, static_cast<uint32_t>(w.waits_on.size()));
    report.waiting.push_back(std::move(w));
  }
  report.not_started = std::max<uint64_t>(report.not_started, report.waiting.size());
  return report;
}

}  // namespace chiprt::device

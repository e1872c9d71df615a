#include "chiprt/stall_report.h"

#include "chiprt/image.h"

#include <fmt/format.h>

namespace chiprt {
namespace {

std::string_view core_name(uint32_t core_type) {
  return core_type == 0 ? "aic" : "aiv";  // chiprt_core_type_t; the page parser keeps 0 and 1
}

std::string predecessor_text(const StallReport::Task& t, const KernelNames* names) {
  std::string out = task_label(t.task_id, t.func_id, names);
  switch (t.state) {
    case StallReport::Task::State::running:
      return out + (t.core_known ? fmt::format(", running on {} core {}", core_name(t.core_type),
                                               t.core_index)
                                 : fmt::format(", running on an {} core", core_name(t.core_type)));
    case StallReport::Task::State::ready:
      return out + ", ready but not started";
    case StallReport::Task::State::waiting:
      return out + ", itself waiting";
  }
  return out;
}

}  // namespace

std::string_view orchestration_name(StallReport::Orchestration state) noexcept {
  switch (state) {
    case StallReport::Orchestration::in_user_code:
      return "in user code";
    case StallReport::Orchestration::ring_full:
      return "ring full";
    case StallReport::Orchestration::heap_full:
      return "heap full";
    case StallReport::Orchestration::in_sync:
      return "in sync";
    case StallReport::Orchestration::finished_submitting:
      return "finished submitting";
    case StallReport::Orchestration::replaying:
      return "replaying";
    case StallReport::Orchestration::unknown:
      break;
  }
  return "unknown";
}

std::string task_label(uint64_t task_id, uint32_t func_id, const KernelNames* kernel_names) {
  if (kernel_names != nullptr) {
    // An image without names names each kernel "func N": said once, not twice.
    if (auto it = kernel_names->find(func_id);
        it != kernel_names->end() && it->second != default_kernel_name(func_id)) {
      return fmt::format("task {} (func {} '{}')", task_id, func_id, it->second);
    }
  }
  return fmt::format("task {} (func {})", task_id, func_id);
}

std::string describe_stall(const StallReport& report, const KernelNames* kernel_names) {
  constexpr size_t kNamed = 3;  // waiting tasks in the message; the report holds them all
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (report.snapshot) {
    for (size_t i = 0; i < report.waiting.size() && i < kNamed; ++i) {
      const StallReport::Waiting& w = report.waiting[i];
      std::string text = task_label(w.task.task_id, w.task.func_id, kernel_names);
      if (w.unmet == 0) {
        text += " is ready but no core has taken it";
      } else {
        text += " waits on ";
        for (size_t k = 0; k < w.waits_on.size(); ++k) {
          text += (k == 0 ? "" : " and ") + predecessor_text(w.waits_on[k], kernel_names);
        }
        if (w.unmet > w.waits_on.size()) {
          text += fmt::format("{}{} more", w.waits_on.empty() ? "" : " and ",
                              w.unmet - w.waits_on.size());
        }
      }
      add(text);
    }
    if (report.not_started > std::min(report.waiting.size(), kNamed)) {
      add(fmt::format("{} tasks not started in all", report.not_started));
    }
    if (report.waiting.empty()) add("no task is waiting");
  } else {
    add(fmt::format("the device gave no snapshot of its tasks within {} ms",
                    StallReport::kSnapshotWait.count()));
  }
  // Running kernels not named as a predecessor above (all of them without a snapshot).
  std::string running;
  for (const StallReport::Task& t : report.running) {
    bool named = false;
    for (size_t i = 0; report.snapshot && i < report.waiting.size() && i < kNamed; ++i) {
      for (const StallReport::Task& p : report.waiting[i].waits_on) {
        named = named || p.task_id == t.task_id;
      }
    }
    if (named) continue;
    running += (running.empty() ? "running: " : ", ") +
               task_label(t.task_id, t.func_id, kernel_names) +
               fmt::format(" on {} core {}", core_name(t.core_type), t.core_index);
  }
  if (!running.empty()) add(running);
  add(fmt::format("orchestration: {}", orchestration_name(report.orchestration)));
  return out;
}

}  // namespace chiprt

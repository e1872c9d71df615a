#include "run_summary_report.h"

#include <fmt/format.h>

#include "chiprt/abi/image_format.h"

namespace chiprt::cli {
namespace {
const char* core_type_text(uint32_t core_type) {
  return core_type == CHIPRT_CORE_AIC ? "aic" : "aiv";
}
std::string share_text(uint64_t used, uint64_t limit) {
  if (limit == 0) return fmt::format("{}", used);
  return fmt::format("{} of {} ({:.0f}%)", used, limit,
                     100.0 * static_cast<double>(used) / static_cast<double>(limit));
}
}  // namespace

nlohmann::json run_summary_json(const RunSummary& s) {
  nlohmann::json path = nlohmann::json::array();
  for (const RunSummary::PathStep& step : s.critical_path.tasks) {
    path.push_back(
        {{"task", step.task}, {"func_id", step.func_id}, {"kernel", step.kernel}, {"us", step.us}});
  }
  nlohmann::json cores = nlohmann::json::array();
  for (const RunSummary::CoreBusy& c : s.cores) {
    cores.push_back({{"core_type", core_type_text(c.core_type)},
                     {"core_index", c.core_index},
                     {"tasks", c.tasks},
                     {"busy_us", c.busy_us},
                     {"busy_share", c.share}});
  }
  nlohmann::json types = nlohmann::json::object();
  for (const RunSummary::CoreTypeBusy& t : s.core_types) {
    types[core_type_text(t.core_type)] = {
        {"cores_used", t.cores}, {"busy_us", t.busy_us}, {"busy_share", t.share}};
  }
  return {{"wall_us", s.wall_us},
          {"elapsed_us", s.elapsed_us},
          {"tasks", s.tasks},
          {"critical_path", {{"us", s.critical_path.us}, {"tasks", std::move(path)}}},
          {"core_types", std::move(types)},
          {"cores", std::move(cores)},
          {"ready_wait",
           {{"total_us", s.ready_wait_total_us},
            {"max_us", s.ready_wait_max_us},
            {"max_task", s.ready_wait_max_task}}},
          {"tasks_per_kernel", s.tasks_per_kernel},
          {"ring", {{"high_water", s.ring_high_water}, {"slots", s.ring_slots}}},
          {"heap", {{"high_water_bytes", s.heap_high_water}, {"limit_bytes", s.heap_limit}}},
          {"dependencies",
           {{"edges", s.edges},
            {"raw", s.edges_raw},
            {"war", s.edges_war},
            {"waw", s.edges_waw},
            {"reuse", s.edges_reuse}}}};
}

std::string run_summary_text(const RunSummary& s) {
  std::string out =
      fmt::format("run: {} task{}, {:.1f} us on the device ({:.1f} us for the caller)\n", s.tasks,
                  s.tasks == 1 ? "" : "s", s.wall_us, s.elapsed_us);
  out += fmt::format("critical path: {:.1f} us over {} task{}", s.critical_path.us,
                     s.critical_path.tasks.size(), s.critical_path.tasks.size() == 1 ? "" : "s");
  const char* sep = ": ";
  for (const RunSummary::PathStep& step : s.critical_path.tasks) {
    out += fmt::format("{}{} (task {}, {:.1f} us)", sep, step.kernel, step.task, step.us);
    sep = " -> ";
  }
  out += "\n";
  for (const RunSummary::CoreTypeBusy& t : s.core_types) {
    out += fmt::format("{} cores: {} used, busy {:.0f}% ({:.1f} us of kernels)\n",
                       core_type_text(t.core_type), t.cores, 100 * t.share, t.busy_us);
  }
  out += fmt::format("ready-to-start wait: {:.1f} us in all, longest {:.1f} us (task {})\n",
                     s.ready_wait_total_us, s.ready_wait_max_us, s.ready_wait_max_task);
  out += "tasks per kernel:";
  for (const auto& [kernel, n] : s.tasks_per_kernel) out += fmt::format(" {} {},", kernel, n);
  if (!s.tasks_per_kernel.empty()) out.pop_back();
  out += "\n";
  if (s.ring_slots > 0)
    out += fmt::format("ring high water: {} slots\n", share_text(s.ring_high_water, s.ring_slots));
  out += fmt::format("heap high water: {} bytes\n", share_text(s.heap_high_water, s.heap_limit));
  out += fmt::format("dependencies: {} edge{} (RAW {}, WAR {}, WAW {}, heap reuse {})\n", s.edges,
                     s.edges == 1 ? "" : "s", s.edges_raw, s.edges_war, s.edges_waw, s.edges_reuse);
  return out;
}

}  // namespace chiprt::cli

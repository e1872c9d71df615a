#include "json_report.h"

#include <fmt/format.h>

#include <string>

namespace chiprt::cli {

nlohmann::json image_json(const ImageView& view) {
  nlohmann::json out;
  out["version"] = fmt::format("{}.{}", view.version_major(), view.version_minor());
  out["name"] = std::string(view.name());
  out["image_bytes"] = view.size();
  out["header_bytes"] = view.header_size();
  out["orch_offset"] = view.orch_offset();
  out["orch_bytes"] = view.orch_size();
  out["hash"] = view.content_hash().hex();
  out["children"] = nlohmann::json::array();
  for (const ImageChild& child : view.children()) {
    out["children"].push_back({{"func_id", child.func_id},
                               {"core", std::string(core_type_name(child.core))},
                               {"offset", child.offset},
                               {"binary_bytes", child.size}});
  }
  return out;
}

nlohmann::json worker_stats_json(const WorkerStats& w) {
  nlohmann::json histogram = nlohmann::json::object();
  for (auto [refcount, buffers] : w.refcount_histogram) histogram[std::to_string(refcount)] = buffers;
  return {{"registrations_live", w.registrations_live},
          {"registrations_total", w.registrations_total},
          {"distinct_buffers_live", w.distinct_buffers_live},
          {"refcount_histogram", histogram},
          {"loads", w.loads},
          {"unloads", w.unloads},
          {"runs", w.runs},
          {"leased_buffers", w.leased_buffers},
          {"deferred_releases", w.deferred_releases},
          {"leaked_registrations", w.leaked_registrations}};
}

nlohmann::json device_memory_json(size_t device, const DeviceStats& memory) {
  nlohmann::json tags;
  for (size_t t = 0; t < kMemoryTagCount; ++t) {
    tags[std::string(memory_tag_name(static_cast<MemoryTag>(t)))] = {
        {"live_bytes", memory.tags[t].live_bytes},
        {"peak_bytes", memory.tags[t].peak_bytes},
        {"live_allocations", memory.tags[t].live_allocations}};
  }
  return {{"device", device},
          {"live_bytes", memory.live_bytes},
          {"peak_bytes", memory.peak_bytes},
          {"tags", tags}};
}

nlohmann::json pool_stats_json(const WorkerPoolStats& stats) {
  nlohmann::json devices = nlohmann::json::array();
  for (const DeviceSummary& d : stats.devices) {
    nlohmann::json workers = nlohmann::json::array();
    for (const WorkerStats& w : d.workers) workers.push_back(worker_stats_json(w));
    nlohmann::json device = device_memory_json(d.device, d.memory);
    device["workers"] = workers;
    devices.push_back(device);
  }
  return {{"registrations_live", stats.registrations_live},
          {"distinct_buffers_live", stats.distinct_buffers_live},
          {"loads", stats.loads},
          {"unloads", stats.unloads},
          {"runs", stats.runs},
          {"deferred_releases", stats.deferred_releases},
          {"devices", devices}};
}

}  // namespace chiprt::cli

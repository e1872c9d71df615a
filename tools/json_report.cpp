#include "json_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <string>

#include "base/resident_memory.h"
#include "chiprt/abi/tensor.h"

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
                               {"name", child.name},
                               {"offset", child.offset},
                               {"binary_bytes", child.size}});
  }
  out["kernel_names_bytes"] = view.kernel_names_size();  // 0: names are "func N"
  if (!view.signature().empty()) {
    out["signature"] = signature_json(view.signature());
    out["signature_offset"] = view.signature_offset();
    out["signature_bytes"] = view.signature_size();
  } else {
    out["signature"] = nullptr;
  }
  return out;
}

nlohmann::json signature_json(const Signature& signature) {
  nlohmann::json out = {{"text", format_signature(signature)},
                        {"inputs", nlohmann::json::array()},
                        {"scalars", nlohmann::json::array()},
                        {"outputs", nlohmann::json::array()}};
  for (const SignatureEntry& entry : signature) {
    nlohmann::json item = {{"name", entry.name}};
    if (entry.kind != SignatureKind::scalar) {
      item["dtype"] = dtype_name(entry.dtype);
      item["rank"] = entry.any_rank ? nlohmann::json("*") : nlohmann::json(entry.rank);
    }
    if (entry.kind != SignatureKind::output) item["optional"] = entry.optional;
    const char* list = entry.kind == SignatureKind::input    ? "inputs"
                       : entry.kind == SignatureKind::scalar ? "scalars"
                                                             : "outputs";
    out[list].push_back(std::move(item));
  }
  return out;
}

Result<Signature> signature_from_json(const nlohmann::json& json) {
  const auto bad = [](std::string why) {
    return Status(StatusCode::invalid_argument, "signature JSON: " + why);
  };
  if (!json.is_object()) return bad("not an object with inputs, scalars and outputs");
  for (const auto& [key, value] : json.items()) {
    if (key != "text" && key != "inputs" && key != "scalars" && key != "outputs") {
      return bad(fmt::format("unknown key '{}' (known: inputs, scalars, outputs)", key));
    }
  }
  Signature out;
  const std::pair<const char*, SignatureKind> lists[] = {{"inputs", SignatureKind::input},
                                                         {"scalars", SignatureKind::scalar},
                                                         {"outputs", SignatureKind::output}};
  for (const auto& [list, kind] : lists) {
    if (!json.contains(list)) continue;
    if (!json[list].is_array()) return bad(fmt::format("'{}' is not a list", list));
    for (const nlohmann::json& item : json[list]) {
      const std::string where = fmt::format("an entry of '{}'", list);
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
        return bad(where + " has no string 'name'");
      }
      SignatureEntry entry;
      entry.kind = kind;
      entry.name = item["name"].get<std::string>();
      const std::string what = fmt::format("'{}' in '{}'", entry.name, list);
      for (const auto& [key, value] : item.items()) {
        const bool tensor_key = key == "dtype" || key == "rank";
        if (key != "name" && key != "optional" && !(tensor_key && kind != SignatureKind::scalar)) {
          return bad(fmt::format("{} has unexpected key '{}'", what, key));
        }
      }
      if (item.contains("optional")) {
        if (!item["optional"].is_boolean()) return bad(what + " has a non-boolean 'optional'");
        entry.optional = item["optional"].get<bool>();
      }
      if (kind != SignatureKind::scalar) {
        if (!item.contains("dtype") || !item["dtype"].is_string()) {
          return bad(what + " has no string 'dtype'");
        }
        auto dtype = parse_dtype(item["dtype"].get<std::string>());
        if (!dtype.ok()) return bad(fmt::format("{} {}", what, dtype.status().message()));
        entry.dtype = *dtype;
        const nlohmann::json& rank = item.contains("rank") ? item["rank"] : nlohmann::json();
        if (rank == "*") {
          entry.any_rank = true;
        } else if (rank.is_number_unsigned() && rank.get<uint64_t>() <= CHIPRT_MAX_DIMS) {
          entry.rank = rank.get<uint32_t>();
        } else {
          return bad(fmt::format("{} has no 'rank' 0..{} or \"*\"", what, CHIPRT_MAX_DIMS));
        }
      }
      out.push_back(std::move(entry));
    }
  }
  if (out.empty()) return bad("lists no argument");
  if (Status valid = check_signature(out); !valid.ok()) {
    return bad(std::string(valid.message()));
  }
  return out;
}

nlohmann::json graph_cache_json(const WorkerStats::GraphCache& c) {
  return {{"entries", c.entries},
          {"bytes", c.bytes},
          {"host_bytes", c.host_bytes},
          {"peak_entries", c.peak_entries},
          {"peak_bytes", c.peak_bytes},
          {"peak_host_bytes", c.peak_host_bytes},
          {"capacity_entries", c.capacity_entries},
          {"capacity_bytes", c.capacity_bytes},
          {"capacity_host_bytes", c.capacity_host_bytes},
          {"evictions", c.evictions}};
}

nlohmann::json worker_stats_json(const WorkerStats& w) {
  nlohmann::json histogram = nlohmann::json::object();
  for (auto [refcount, buffers] : w.refcount_histogram)
    histogram[std::to_string(refcount)] = buffers;
  return {{"registrations_live", w.registrations_live},
          {"registrations_total", w.registrations_total},
          {"distinct_buffers_live", w.distinct_buffers_live},
          {"refcount_histogram", histogram},
          {"loads", w.loads},
          {"unloads", w.unloads},
          {"runs", w.runs},
          {"leased_buffers", w.leased_buffers},
          {"deferred_releases", w.deferred_releases},
          {"leaked_registrations", w.leaked_registrations},
          {"heaps", w.heaps},
          {"heap_bytes_reserved", w.heap_bytes_reserved},

          {"graph_cache", graph_cache_json(w.graph_cache)}};
}

nlohmann::json device_memory_json(size_t device, const DeviceStats& memory) {
  nlohmann::json tags;
  for (size_t t = 0; t < kMemoryTagCount; ++t) {
    tags[std::string(memory_tag_name(static_cast<MemoryTag>(t)))] = {
        {"live_bytes", memory.tags[t].live_bytes},
        {"peak_bytes", memory.tags[t].peak_bytes},
        {"live_allocations", memory.tags[t].live_allocations}};
  }
  const DeviceStats::ReplayCache& r = memory.replay_cache;
  const DeviceStats::CodeCache& c = memory.code_cache;
  return {{"device", device},
          {"live_bytes", memory.live_bytes},
          {"peak_bytes", memory.peak_bytes},
          {"tags", tags},
          {"replay_cache",
           {{"entries", r.entries},
            {"bytes", r.bytes},
            {"peak_bytes", r.peak_bytes},
            {"evictions", r.evictions},
            {"drops", r.drops}}},
          {"code_cache",
           {{"entries", c.entries},
            {"bytes", c.bytes},
            {"hits", c.hits},
            {"misses", c.misses},
            {"evictions", c.evictions}}},
          {"process",
           {{"pid", memory.process.pid},
            {"resident_bytes", memory.process.resident_bytes},
            {"peak_resident_bytes", memory.process.peak_resident_bytes}}}};
}

nlohmann::json resident_memory_json(const WorkerPoolStats& stats) {
  const ResidentMemory host = resident_memory();
  nlohmann::json devices = nlohmann::json::array();
  for (const DeviceSummary& d : stats.devices) {
    // Each hbg worker's orchestration sandbox is a child process of the host too.
    nlohmann::json sandboxes = nlohmann::json::array();
    for (const WorkerStats& w : d.workers) {
      if (w.sandbox.pid == 0) continue;
      sandboxes.push_back({{"pid", w.sandbox.pid},
                           {"resident_bytes", w.sandbox.resident_bytes},
                           {"peak_resident_bytes", w.sandbox.peak_resident_bytes}});
    }
    devices.push_back({{"device", d.device},
                       {"pid", d.memory.process.pid},
                       {"resident_bytes", d.memory.process.resident_bytes},
                       {"peak_resident_bytes", d.memory.process.peak_resident_bytes},
                       {"sandboxes", sandboxes}});
  }
  return {{"host",
           {{"pid", getpid()},
            {"resident_bytes", host.resident_bytes},
            {"peak_resident_bytes", host.peak_resident_bytes}}},
          {"devices", devices}};
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

nlohmann::json check_report_json(const CheckReport& report) {
  nlohmann::json findings = nlohmann::json::array();
  for (const CheckFinding& f : report.findings) {
    nlohmann::json j{{"check", f.check}, {"tensor", f.tensor}, {"unit", f.unit},
                     {"begin", f.begin}, {"end", f.end},       {"message", f.message}};
    if (f.has_task) {
      j["task_id"] = f.task_id;
      j["func_id"] = f.func_id;
      j["core_type"] = core_type_name(static_cast<CoreType>(f.core_type));
      j["core_index"] = f.core_index;
    }
    findings.push_back(std::move(j));
  }
  return {{"enabled", report.checks.names()},
          {"schedules", report.schedules},
          {"findings", std::move(findings)},
          {"dropped", report.dropped}};
}

nlohmann::json stall_report_json(const StallReport& report) {
  auto task_json = [](const StallReport::Task& t) {
    static constexpr const char* kStates[] = {"waiting", "ready", "running"};
    nlohmann::json j{{"task_id", t.task_id},
                     {"func_id", t.func_id},
                     {"core_type", core_type_name(static_cast<CoreType>(t.core_type))},
                     {"state", kStates[static_cast<uint32_t>(t.state)]}};
    if (t.core_known) j["core_index"] = t.core_index;
    return j;
  };
  nlohmann::json waiting = nlohmann::json::array();
  for (const StallReport::Waiting& w : report.waiting) {
    nlohmann::json on = nlohmann::json::array();
    for (const StallReport::Task& p : w.waits_on) on.push_back(task_json(p));
    nlohmann::json j = task_json(w.task);
    j["unmet"] = w.unmet;
    j["waits_on"] = std::move(on);
    waiting.push_back(std::move(j));
  }
  nlohmann::json running = nlohmann::json::array();
  for (const StallReport::Task& t : report.running) running.push_back(task_json(t));
  return {{"run", report.run},
          {"stall_timeout_s", report.stalled_for_s},
          {"orchestration", std::string(orchestration_name(report.orchestration))},
          {"snapshot", report.snapshot},
          {"not_started", report.not_started},
          {"waiting", std::move(waiting)},
          {"running", std::move(running)}};
}

}  // namespace chiprt::cli

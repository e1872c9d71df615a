// The JSON the CLI prints for an image (`chiprt inspect --json`) and for pool statistics
// (`chiprt stats --json`), shared with the Python package so both give the same figures.
#pragma once

#include <nlohmann/json.hpp>

#include "chiprt/image.h"
#include "chiprt/worker_pool.h"

namespace chiprt::cli {

nlohmann::json image_json(const ImageView& view);
// A signature as {"text", "inputs", "scalars", "outputs"}: inputs and outputs are lists of
// {"name", "dtype", "rank" (a number, or "*" for any), "optional"}, scalars of {"name",
// "optional"}. signature_from_json reads that form back ("text" is ignored; "optional" and
// each list may be left out); invalid_argument naming what is wrong.
nlohmann::json signature_json(const Signature& signature);
Result<Signature> signature_from_json(const nlohmann::json& json);
// hbg graph cache: entries and bytes held, both bounds, evictions.
nlohmann::json graph_cache_json(const WorkerStats::GraphCache& cache);
// One worker's entry of a device's "workers" list.
nlohmann::json worker_stats_json(const WorkerStats& stats);
// A device's memory: live and peak bytes and per-tag figures (its entry without "workers").
nlohmann::json device_memory_json(size_t device, const DeviceStats& memory);
nlohmann::json pool_stats_json(const WorkerPoolStats& stats);
// Resident memory (VmRSS now, VmHWM peak, from /proc) of this process and of each device's
// process in `stats` (as DeviceStats::process read them).
nlohmann::json resident_memory_json(const WorkerPoolStats& stats);
// A checked run's report: {"enabled", "schedules", "findings": [{"check", "task_id", "func_id",
// "core_type", "core_index" (the four only for findings of one task), "tensor", "unit", "begin",
// "end", "message"}], "dropped"}.
nlohmann::json check_report_json(const CheckReport& report);
// A stalled run's report: {"run", "stall_timeout_s", "orchestration" ("in user code", "ring
// full", ...), "snapshot" (whether the device described its tasks), "not_started", "waiting":
// [{"task_id", "func_id", "core_type", "state", "unmet", "waits_on": [tasks]}], "running":
// [tasks]}, where a task is {"task_id", "func_id", "core_type", "state" ("waiting", "ready",
// "running"), "core_index" (when known)}.
nlohmann::json stall_report_json(const StallReport& report);

}  // namespace chiprt::cli

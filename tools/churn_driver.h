// The churn driver behind `chiprt churn` and `chiprt stats`: registrations (and optional runs)
// cycled over distinct images, from several threads, over the workers of a WorkerPool, with
// device-memory figures per device. With `legacy` it drives LegacyWorker instead, to show the
// accounting chiprt replaces.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chiprt/worker_pool.h"
#include "memory_timeline.h"

namespace chiprt::cli {

struct ChurnConfig {
  size_t callables = 500;       // registrations to make (ignored when duration_s > 0)
  double duration_s = 0;        // run for this long instead of a count
  size_t distinct = 50;
  bool rolling = false;         // register then unregister each; else all, then all released
  RuntimeKind runtime = RuntimeKind::tmr;
  size_t devices = 1;
  size_t workers = 0;           // workers driven, spread over devices; 0: one per device
  size_t threads = 1;
  size_t runs_per_callable = 0;
  std::string profile = "a2a3";
  uint64_t device_memory = 1ull << 30;
  bool legacy = false;
  bool progress = false;
  std::filesystem::path examples;
  MemoryTimeline* timeline = nullptr;  // borrowed; sampled on every change when set
  std::filesystem::path save_images;   // when set: write each distinct image here, one file each
};

struct DeviceFigures {
  uint64_t baseline_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t callable_bytes_peak = 0;
  uint64_t distinct_image_alloc_bytes = 0;  // over the distinct images this device received
  uint64_t live_bytes_after_unregister = 0;
  uint64_t callable_buffers_live_after_unregister = 0;
  // Counted by the device: callable-tagged allocations made and bytes uploaded into them, and
  // uploads into a callable buffer after its placement (the legacy model: its separate
  // orchestration uploads).
  uint64_t callable_allocations = 0;
  uint64_t callable_upload_bytes = 0;
  uint64_t orch_uploads = 0;
};

struct ChurnResult {
  uint64_t registrations = 0;
  uint64_t runs = 0;
  uint64_t wrong_outputs = 0;  // runs whose output differed from the golden
  uint64_t distinct_images = 0;
  uint64_t distinct_image_alloc_bytes = 0;  // of one copy of every distinct image
  std::vector<DeviceFigures> devices;
  WorkerPoolStats at_peak;  // snapshot before the final release (pattern all)
  WorkerPoolStats at_end;
  double elapsed_s = 0;
};

Result<ChurnResult> run_churn(const ChurnConfig& config);

}  // namespace chiprt::cli

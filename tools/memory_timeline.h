// MemoryTimeline: device-memory samples taken on every change during a churn, written as CSV
// (time_s, op, device, tag, live_bytes, buffers, registrations, host_resident_bytes,
// device_resident_bytes), where op counts the register and unregister operations done so far.
// Each sample also holds the resident memory (VmRSS) of the host and of the device's process, so
// that a leak shows in the same timeline as the device's bytes. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

#include "chiprt/device.h"
#include "chiprt/status.h"

namespace chiprt::cli {

struct TimelineSample {
  double time_s;
  uint64_t op;
  size_t device;
  std::array<uint64_t, kMemoryTagCount> live_bytes;
  uint64_t buffers;
  uint64_t registrations;
  uint64_t host_resident_bytes = 0;    // this process
  uint64_t device_resident_bytes = 0;  // the device's process (0: none runs)
  int64_t host_pid = 0;
  int64_t device_pid = 0;
};

class MemoryTimeline {
 public:
  explicit MemoryTimeline(size_t devices) : last_(devices) {}
  // Records a sample unless its device figures equal the device's previous one (resident memory
  // alone changing is not a change of the device).
  void record(const TimelineSample& sample);
  std::vector<TimelineSample> samples() const;
  Status write_csv(const std::filesystem::path& path) const;

 private:
  mutable std::mutex mutex_;
  std::vector<TimelineSample> samples_;
  std::vector<std::optional<TimelineSample>> last_;
};

}  // namespace chiprt::cli

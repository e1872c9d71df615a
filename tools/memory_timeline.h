// MemoryTimeline: device-memory samples taken on every change during a churn, written as CSV
// (time_s, op, device, tag, live_bytes, buffers, registrations), where op counts the register and
// unregister operations done so far. Thread-safe.
#pragma once

#include <filesystem>
#include <mutex>
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
};

class MemoryTimeline {
 public:
  explicit MemoryTimeline(size_t devices) : last_(devices) {}
  // Records a sample unless it equals the device's previous one.
  void record(const TimelineSample& sample);
  std::vector<TimelineSample> samples() const;
  Status write_csv(const std::filesystem::path& path) const;

 private:
  mutable std::mutex mutex_;
  std::vector<TimelineSample> samples_;
  std::vector<std::optional<TimelineSample>> last_;
};

}  // namespace chiprt::cli

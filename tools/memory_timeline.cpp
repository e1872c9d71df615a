#include "memory_timeline.h"

#include <fmt/format.h>

#include <iterator>

#include "cli_common.h"

namespace chiprt::cli {

void MemoryTimeline::record(const TimelineSample& sample) {
  std::lock_guard lock(mutex_);
  auto& last = last_.at(sample.device);
  if (last && last->live_bytes == sample.live_bytes && last->buffers == sample.buffers &&
      last->registrations == sample.registrations) {
    return;
  }
  last = sample;
  samples_.push_back(sample);
}

std::vector<TimelineSample> MemoryTimeline::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

Status MemoryTimeline::write_csv(const std::filesystem::path& path) const {
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out),
                 "time_s,op,device,tag,live_bytes,buffers,registrations,host_resident_bytes,"
                 "device_resident_bytes\n");
  for (const TimelineSample& s : samples()) {
    for (size_t tag = 0; tag < kMemoryTagCount; ++tag) {
      fmt::format_to(std::back_inserter(out), "{:.6f},{},{},{},{},{},{},{},{}\n", s.time_s, s.op,
                     s.device, memory_tag_name(static_cast<MemoryTag>(tag)), s.live_bytes[tag],
                     s.buffers, s.registrations, s.host_resident_bytes, s.device_resident_bytes);
    }
  }
  return write_file(path, as_bytes(std::string_view(out.data(), out.size())));
}

}  // namespace chiprt::cli

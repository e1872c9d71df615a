// A small SVG line chart of a MemoryTimeline: live device bytes per tag over time, one line per
// (device, tag), registrations on a second axis; under it the resident memory of the host and of
// each device's process. Written by hand: two axes and polylines do not
// need a plotting library.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "chiprt/status.h"
#include "memory_timeline.h"

namespace chiprt::cli {

struct PlotSeries {
  std::string title;  // e.g. "chiprt" or "legacy accounting"
  std::vector<TimelineSample> samples;
};

// Two panels per series (device memory, resident memory), stacked, each kind sharing its y scale
// across series so that they compare at a glance.
std::string render_memory_svg(const std::vector<PlotSeries>& series);
Status write_memory_svg(const std::filesystem::path& path, const std::vector<PlotSeries>& series);

}  // namespace chiprt::cli

// A small SVG line chart of a MemoryTimeline: live device bytes per tag over time, one line per
// (device, tag), registrations on a second axis. Written by hand: two axes and polylines do not
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

// One panel per series, stacked, sharing the y scale so that panels compare at a glance.
std::string render_memory_svg(const std::vector<PlotSeries>& series);
Status write_memory_svg(const std::filesystem::path& path, const std::vector<PlotSeries>& series);

}  // namespace chiprt::cli

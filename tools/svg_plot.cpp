#include "svg_plot.h"

#include <fmt/format.h>

#include <algorithm>

#include "cli_common.h"

namespace chiprt::cli {
namespace {

constexpr double kWidth = 900, kPanelHeight = 320, kResidentHeight = 240, kLeft = 90, kRight = 90,
                 kTop = 40, kBottom = 50;
// A series takes a device-memory panel and, under it, a resident-memory panel.
constexpr double kSeriesHeight = kPanelHeight + kResidentHeight;
constexpr const char* kHostColor = "#9467bd";
constexpr const char* kDeviceProcessColor = "#8c564b";
constexpr const char* kTagColors[kMemoryTagCount] = {"#d62728", "#1f77b4", "#2ca02c", "#7f7f7f"};
constexpr const char* kDeviceDash[] = {"", "6,3", "2,2", "10,3,2,3"};

std::string mib(double bytes) {
  return fmt::format("{:.1f} MiB", bytes / (1 << 20));
}

struct Extent {
  double op_max = 1;
  double bytes_max = 1;
  double registrations_max = 4;
  double resident_max = 1;
  std::array<bool, kMemoryTagCount> tag_used{};
};

Extent extent_of(const std::vector<PlotSeries>& all) {
  Extent e;
  for (const PlotSeries& series : all) {
    for (const TimelineSample& s : series.samples) {
      e.op_max = std::max(e.op_max, double(s.op));
      for (size_t t = 0; t < kMemoryTagCount; ++t) {
        e.bytes_max = std::max(e.bytes_max, double(s.live_bytes[t]));
        e.tag_used[t] = e.tag_used[t] || s.live_bytes[t] > 0;
      }
      e.registrations_max = std::max(e.registrations_max, double(s.registrations));
      e.resident_max = std::max(
          {e.resident_max, double(s.host_resident_bytes), double(s.device_resident_bytes)});
    }
  }
  return e;
}

void render_panel(std::string& svg, const PlotSeries& series, const Extent& e, double top) {
  const double w = kWidth - kLeft - kRight, h = kPanelHeight - kTop - kBottom;
  auto x = [&](double op) { return kLeft + op / e.op_max * w; };
  auto y = [&](double v, double max) { return top + kTop + h - v / max * h; };
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="15" font-weight="bold">{}</text>)", kLeft,
                     top + 24, series.title);
  svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#333"/>)",
                     kLeft, top + kTop, w, h);
  for (int i = 0; i <= 4; ++i) {
    const double frac = i / 4.0;
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>)",
                       kLeft - 6, y(frac * e.bytes_max, e.bytes_max) + 4, mib(frac * e.bytes_max));
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11">{:.0f}</text>)", kLeft + w + 6,
                       y(frac * e.registrations_max, e.registrations_max) + 4,
                       frac * e.registrations_max);
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">{:.0f}</text>)",
                       x(frac * e.op_max), top + kTop + h + 16, frac * e.op_max);
  }
  svg += fmt::format(
      R"(<text x="{}" y="{}" font-size="12" text-anchor="middle">register / unregister operations</text>)",
      kLeft + w / 2, top + kTop + h + 34);
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="end">registrations</text>)",
                     kWidth - 6, top + kTop - 6);
  size_t devices = 0;
  for (const TimelineSample& s : series.samples) devices = std::max(devices, s.device + 1);
  for (size_t d = 0; d < devices; ++d) {
    std::string regs;
    std::array<std::string, kMemoryTagCount> tags;
    for (const TimelineSample& s : series.samples) {
      if (s.device != d) continue;
      for (size_t t = 0; t < kMemoryTagCount; ++t) {
        tags[t] +=
            fmt::format("{:.1f},{:.1f} ", x(double(s.op)), y(double(s.live_bytes[t]), e.bytes_max));
      }
      regs += fmt::format("{:.1f},{:.1f} ", x(double(s.op)),
                          y(double(s.registrations), e.registrations_max));
    }
    const char* dash = kDeviceDash[d % 4];
    // Registrations first and faint, so the memory lines stay readable on top of them.
    svg += fmt::format(
        R"(<polyline fill="none" stroke="#ff7f0e" stroke-width="1" stroke-opacity="0.5" stroke-dasharray="{}" points="{}"/>)",
        dash, regs);
    for (size_t t = 0; t < kMemoryTagCount; ++t) {
      if (!e.tag_used[t]) continue;
      svg += fmt::format(
          R"(<polyline fill="none" stroke="{}" stroke-width="2" stroke-dasharray="{}" points="{}"/>)",
          kTagColors[t], dash, tags[t]);
    }
  }
}

// The resident memory (VmRSS) of the host and of each device's process over the same operations:
// a leak of either grows here while the device's bytes above stay flat. Each line is labelled
// with its process (data-process, data-pid) and the panel frame carries its y scale
// (data-bytes-max), so that the drawn values can be read back.
void render_resident_panel(std::string& svg, const PlotSeries& series, const Extent& e,
                           double top) {
  const double w = kWidth - kLeft - kRight, h = kResidentHeight - kTop - kBottom;
  auto x = [&](double op) { return kLeft + op / e.op_max * w; };
  auto y = [&](double v) { return top + kTop + h - v / e.resident_max * h; };
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="13">resident memory (VmRSS)</text>)", kLeft,
                     top + 24);
  svg += fmt::format(
      R"(<rect data-panel="resident" data-bytes-max="{:.0f}" x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#333"/>)",
      e.resident_max, kLeft, top + kTop, w, h);
  for (int i = 0; i <= 4; ++i) {
    const double frac = i / 4.0;
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>)",
                       kLeft - 6, y(frac * e.resident_max) + 4, mib(frac * e.resident_max));
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="11" text-anchor="middle">{:.0f}</text>)",
                       x(frac * e.op_max), top + kTop + h + 16, frac * e.op_max);
  }
  // The samples of all devices, in the order of their operations, each read the host.
  std::vector<const TimelineSample*> by_op;
  for (const TimelineSample& s : series.samples) by_op.push_back(&s);
  std::stable_sort(by_op.begin(), by_op.end(),
                   [](const auto* a, const auto* b) { return a->op < b->op; });
  struct Line {
    std::string label, color, dash, points;
    int64_t pid = 0;
    uint64_t last = 0, peak = 0;
  };
  std::vector<Line> lines(1);
  lines[0].label = "host";
  lines[0].color = kHostColor;
  for (const TimelineSample* s : by_op) {
    if (s->host_resident_bytes == 0) continue;
    Line& host = lines[0];
    host.pid = s->host_pid;
    host.points +=
        fmt::format("{:.1f},{:.1f} ", x(double(s->op)), y(double(s->host_resident_bytes)));
    host.last = s->host_resident_bytes;
    host.peak = std::max(host.peak, host.last);
  }
  size_t devices = 0;
  for (const TimelineSample& s : series.samples) devices = std::max(devices, s.device + 1);
  for (size_t d = 0; d < devices; ++d) {
    Line line{fmt::format("device {}", d), kDeviceProcessColor, kDeviceDash[d % 4], ""};
    for (const TimelineSample* s : by_op) {
      if (s->device != d || s->device_resident_bytes == 0) continue;
      line.pid = s->device_pid;
      line.points +=
          fmt::format("{:.1f},{:.1f} ", x(double(s->op)), y(double(s->device_resident_bytes)));
      line.last = s->device_resident_bytes;
      line.peak = std::max(line.peak, line.last);
    }
    lines.push_back(std::move(line));
  }
  double lx = kLeft + 200;
  for (const Line& line : lines) {
    if (line.points.empty()) continue;
    const std::string name = line.label == "host"
                                 ? fmt::format("host (pid {})", line.pid)
                                 : fmt::format("{} process (pid {})", line.label, line.pid);
    svg += fmt::format(
        R"(<polyline data-process="{}" data-pid="{}" fill="none" stroke="{}" stroke-width="2" stroke-dasharray="{}" points="{}"><title>{}: {} at the end, {} at most</title></polyline>)",
        line.label, line.pid, line.color, line.dash, line.points, name, mib(double(line.last)),
        mib(double(line.peak)));
    svg += fmt::format(
        R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3" stroke-dasharray="{}"/>)",
        lx, top + 20, lx + 24, top + 20, line.color, line.dash);
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="12">{}</text>)", lx + 28, top + 24, name);
    lx += 190;
  }
}

}  // namespace

std::string render_memory_svg(const std::vector<PlotSeries>& series) {
  const Extent e = extent_of(series);
  const double height = kSeriesHeight * series.size() + 40;
  std::string svg = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif">)"
      R"(<rect width="100%" height="100%" fill="white"/>)",
      kWidth, height);
  for (size_t i = 0; i < series.size(); ++i) {
    render_panel(svg, series[i], e, i * kSeriesHeight);
    render_resident_panel(svg, series[i], e, i * kSeriesHeight + kPanelHeight);
  }
  // Legend: colours are tags, dash patterns are devices, orange is registrations.
  double lx = kLeft;
  const double ly = height - 16;
  for (size_t t = 0; t < kMemoryTagCount; ++t) {
    svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"/>)",
                       lx, ly, lx + 24, ly, kTagColors[t]);
    svg += fmt::format(R"(<text x="{}" y="{}" font-size="12">{} bytes</text>)", lx + 28, ly + 4,
                       memory_tag_name(static_cast<MemoryTag>(t)));
    lx += 130;
  }
  svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ff7f0e" stroke-width="2"/>)",
                     lx, ly, lx + 24, ly);
  svg += fmt::format(
      R"(<text x="{}" y="{}" font-size="12">registrations (right axis); dashes: device</text>)",
      lx + 28, ly + 4);
  svg += "</svg>\n";
  return svg;
}

Status write_memory_svg(const std::filesystem::path& path, const std::vector<PlotSeries>& series) {
  return write_file(path, as_bytes(render_memory_svg(series)));
}

}  // namespace chiprt::cli

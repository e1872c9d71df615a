// chiprt churn: register and unregister many callables (optionally running each) over one or
// more simulated chips, and report the device-memory figures that show one copy per distinct
// image and release on unregister. Also writes a timeline CSV and an SVG plot.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "churn_driver.h"
#include "churn_options.h"
#include "cli_common.h"
#include "json_report.h"
#include "svg_plot.h"

namespace chiprt::cli {
namespace {

nlohmann::json device_json(const DeviceFigures& f) {
  return {{"baseline_bytes", f.baseline_bytes},
          {"peak_bytes", f.peak_bytes},
          {"callable_bytes_peak", f.callable_bytes_peak},
          {"distinct_image_alloc_bytes", f.distinct_image_alloc_bytes},
          {"live_bytes_after_unregister", f.live_bytes_after_unregister},
          {"callable_buffers_live_after_unregister", f.callable_buffers_live_after_unregister},
          {"callable_allocations", f.callable_allocations},
          {"callable_upload_bytes", f.callable_upload_bytes},
          {"orch_uploads", f.orch_uploads}};
}

nlohmann::json result_json(const ChurnCliOptions& o, const ChurnResult& r) {
  nlohmann::json out;
  out["runtime"] = o.runtime;
  out["pattern"] = o.pattern;
  out["accounting"] = o.config.legacy ? "legacy" : "chiprt";
  out["registrations"] = r.registrations;
  out["runs"] = r.runs;
  out["wrong_outputs"] = r.wrong_outputs;
  out["distinct_images"] = r.distinct_images;
  out["distinct_image_alloc_bytes"] = r.distinct_image_alloc_bytes;
  if (r.devices.size() == 1) {
    out["device"] = device_json(r.devices[0]);
  } else {
    out["device"] = nlohmann::json::array();
    for (const DeviceFigures& f : r.devices) out["device"].push_back(device_json(f));
  }
  out["loads"] = r.at_end.loads;
  out["unloads"] = r.at_end.unloads;
  out["deferred_releases"] = r.at_end.deferred_releases;
  out["resident_memory"] = resident_memory_json(r.at_end);
  out["elapsed_s"] = r.elapsed_s;
  out["registrations_per_s"] = r.elapsed_s > 0 ? r.registrations / r.elapsed_s : 0.0;
  return out;
}

void print_table(const ChurnCliOptions& o, const ChurnResult& r, bool legacy) {
  fmt::print(
      "churn: {} registrations ({} runs) of {} distinct images, {} {} on {} device(s), "
      "{} thread(s), {:.3f} s\n",
      r.registrations, r.runs, r.distinct_images, o.runtime, o.pattern, r.devices.size(),
      o.config.threads, r.elapsed_s);
  if (legacy) fmt::print("  (legacy accounting: double upload, no release until finalize)\n");
  fmt::print("  {:<34} {:>14}\n", "distinct image alloc bytes", r.distinct_image_alloc_bytes);
  for (size_t d = 0; d < r.devices.size(); ++d) {
    const DeviceFigures& f = r.devices[d];
    fmt::print("  device {}\n", d);
    const std::pair<const char*, uint64_t> rows[] = {
        {"baseline bytes", f.baseline_bytes},
        {"peak bytes", f.peak_bytes},
        {"callable bytes peak", f.callable_bytes_peak},
        {"distinct image alloc bytes here", f.distinct_image_alloc_bytes},
        {"live bytes after unregister", f.live_bytes_after_unregister},
        {"callable buffers live after", f.callable_buffers_live_after_unregister},
        {"callable allocations (device)", f.callable_allocations},
        {"callable upload bytes (device)", f.callable_upload_bytes},
        {"separate orchestration uploads", f.orch_uploads}};
    for (const auto& [label, value] : rows) fmt::print("    {:<32} {:>14}\n", label, value);
  }
  // Counted by the device process and the orchestration sandbox at each load and unload.
  fmt::print("  {:<34} {:>14}\n", "code loads (device, sandbox)", r.at_end.loads);
  fmt::print("  {:<34} {:>14}\n", "code unloads (device, sandbox)", r.at_end.unloads);
  if (r.wrong_outputs) fmt::print("  WRONG OUTPUTS: {}\n", r.wrong_outputs);
}

}  // namespace

void add_churn_command(CLI::App& app) {
  auto o = std::make_shared<ChurnCliOptions>();
  CLI::App* cmd =
      app.add_subcommand("churn", "Register/unregister many callables; report device memory");
  add_churn_options(*cmd, *o);
  cmd->add_option("--timeline", o->timeline_csv, "write a device-memory timeline CSV");
  CLI::Option* plot = cmd->add_option("--plot", o->plot_svg, "write an SVG plot of the timeline");
  cmd->add_flag("--compare-legacy", o->compare_legacy,
                "also run the same churn under legacy accounting and plot both")
      ->needs(plot);
  cmd->callback([o] {
    if (!o->timeline_csv.empty()) require_writable(o->timeline_csv);
    if (!o->plot_svg.empty()) require_writable(o->plot_svg);
    ChurnConfig config = resolve_churn_options(*o);
    const bool want_timeline = !o->timeline_csv.empty() || !o->plot_svg.empty();
    MemoryTimeline timeline(config.devices);
    if (want_timeline) config.timeline = &timeline;
    config.progress = !o->json && isatty(STDERR_FILENO);
    const ChurnResult result = take(run_churn(config));
    std::optional<ChurnResult> old;  // the same churn under legacy accounting, to compare
    if (!o->timeline_csv.empty()) check(timeline.write_csv(o->timeline_csv));
    if (!o->plot_svg.empty()) {
      std::vector<PlotSeries> series{
          {fmt::format("{}: {} registrations over {} distinct images ({}, {})",
                       config.legacy ? "legacy accounting" : "chiprt", result.registrations,
                       result.distinct_images, o->runtime, o->pattern),
           timeline.samples()}};
      if (o->compare_legacy && !config.legacy) {
        MemoryTimeline legacy_timeline(config.devices);
        ChurnConfig legacy = config;
        legacy.legacy = true;
        legacy.timeline = &legacy_timeline;
        legacy.progress = false;
        old = take(run_churn(legacy));
        series.push_back({fmt::format("legacy accounting (double upload, freed only at finalize): "
                                      "{} registrations",
                                      old->registrations),
                          legacy_timeline.samples()});
      }
      check(write_memory_svg(o->plot_svg, series));
    }
    if (o->json) {
      nlohmann::json out = result_json(*o, result);
      if (old) {
        ChurnCliOptions as_legacy = *o;
        as_legacy.config.legacy = true;
        out["legacy"] = result_json(as_legacy, *old);
      }
      std::cout << out.dump(2) << "\n";
    } else {
      print_table(*o, result, config.legacy);
      if (old) {
        fmt::print("\n");
        print_table(*o, *old, true);
      }
    }
    if (result.wrong_outputs > 0) {
      fail(kExitFailure, Status(StatusCode::internal, fmt::format("{} runs produced wrong outputs",
                                                                  result.wrong_outputs)));
    }
  });
}

}  // namespace chiprt::cli

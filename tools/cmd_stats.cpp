// chiprt stats [churn options]: runs a churn and prints the pool's statistics at the peak
// (everything registered) and at the end: registrations, distinct buffers, refcount histogram,
// loads, unloads, bytes per tag, leased buffers, deferred releases.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "churn_options.h"
#include "cli_common.h"
#include "json_report.h"

namespace chiprt::cli {
namespace {

void print_stats(const char* when, const WorkerPoolStats& stats) {
  // Loads and unloads: counted by the device process and the sandbox where each happens.
  fmt::print(
      "{}: {} registrations live in {} distinct buffers; {} code loads, {} unloads, {} "
      "runs, {} deferred releases\n",
      when, stats.registrations_live, stats.distinct_buffers_live, stats.loads, stats.unloads,
      stats.runs, stats.deferred_releases);
  for (const DeviceSummary& d : stats.devices) {
    fmt::print("  device {}: live {} bytes, peak {} bytes\n", d.device, d.memory.live_bytes,
               d.memory.peak_bytes);
    for (size_t t = 0; t < kMemoryTagCount; ++t) {
      fmt::print("    {:<9} live {:>12}  peak {:>12}  allocations {}\n",
                 memory_tag_name(static_cast<MemoryTag>(t)), d.memory.tags[t].live_bytes,
                 d.memory.tags[t].peak_bytes, d.memory.tags[t].live_allocations);
    }
    const DeviceStats::Process& process = d.memory.process;
    if (process.pid > 0) {
      const DeviceStats::ReplayCache& r = d.memory.replay_cache;
      fmt::print(
          "    process {}: resident {} bytes, peak {} bytes; replays: {} ({} bytes, peak {}), "
          "{} evicted, {} dropped with their graph\n",
          process.pid, process.resident_bytes, process.peak_resident_bytes, r.entries, r.bytes,
          r.peak_bytes, r.evictions, r.drops);
      const DeviceStats::CodeCache& c = d.memory.code_cache;
      fmt::print("    code cache: {} objects ({} bytes), {} hits, {} misses, {} evicted\n",
                 c.entries, c.bytes, c.hits, c.misses, c.evictions);
    }
    for (const WorkerStats& w : d.workers) {
      std::string histogram;
      for (auto [refcount, buffers] : w.refcount_histogram) {
        histogram += fmt::format(" {}x{}", buffers, refcount);
      }
      fmt::print("    worker: leased {} buffers; refcounts (buffers x refcount):{}\n",
                 w.leased_buffers, histogram.empty() ? " none" : histogram);
      if (w.graph_cache.capacity_entries > 0) {
        const WorkerStats::GraphCache& c = w.graph_cache;
        fmt::print(
            "    graph cache: {} of {} graphs (peak {}), device {} of {} bytes (peak {}), host {} "
            "of {} bytes (peak {}), {} evictions\n",
            c.entries, c.capacity_entries, c.peak_entries, c.bytes, c.capacity_bytes, c.peak_bytes,
            c.host_bytes, c.capacity_host_bytes, c.peak_host_bytes, c.evictions);
      }
    }
  }
}

}  // namespace

void add_stats_command(CLI::App& app) {
  auto o = std::make_shared<ChurnCliOptions>();
  CLI::App* cmd = app.add_subcommand("stats", "Run a churn and print the pool statistics");
  add_churn_options(*cmd, *o);
  cmd->callback([o] {
    const ChurnResult result = take(run_churn(resolve_churn_options(*o)));
    if (o->json) {
      std::cout << nlohmann::json{{"at_peak", pool_stats_json(result.at_peak)},
                                  {"at_end", pool_stats_json(result.at_end)},
                                  {"resident_memory", resident_memory_json(result.at_end)}}
                       .dump(2)
                << "\n";
      return;
    }
    print_stats("at peak", result.at_peak);
    print_stats("at end", result.at_end);
  });
}

}  // namespace chiprt::cli

// Timing for `chiprt bench`: the measured thing and its floor are sampled in turns (A B A B ...)
// so both see the same machine, and a result is the median of the per-pair ratios with its
// interquartile range. A load spike then moves one pair, not the whole ratio. A floor that does
// not use the device is also sampled alone, with the device idle, which shows whether the
// device's threads slowed the interleaved floor down.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "chiprt/device.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// Microseconds one call of fn() takes.
template <typename Fn>
double timed_us(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
      .count();
}

// The q-quantile (0..1) of `values`, interpolating linearly between the two nearest ranks
// (the common "type 7" definition); 0 for no values.
inline double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(position);
  if (below + 1 >= values.size()) return values.back();
  const double above_weight = position - static_cast<double>(below);
  return values[below] * (1 - above_weight) + values[below + 1] * above_weight;
}

inline double median(std::vector<double> values) {
  return quantile(std::move(values), 0.5);
}

// Paired samples of a measured quantity and its floor, in one unit.
struct PairedSamples {
  std::vector<double> measured;
  std::vector<double> floor;

  size_t pairs() const { return std::min(measured.size(), floor.size()); }
  std::vector<double> ratios() const {
    std::vector<double> out;
    for (size_t i = 0; i < pairs(); ++i) out.push_back(floor[i] > 0 ? measured[i] / floor[i] : 0);
    return out;
  }
  // Multiplies every sample (e.g. us per run -> ns per task); ratios do not change.
  PairedSamples scaled(double measured_factor, double floor_factor) const {
    PairedSamples out = *this;
    for (double& m : out.measured) m *= measured_factor;
    for (double& f : out.floor) f *= floor_factor;
    return out;
  }
};

// Calls measure(i) then floor(i) for i in [0, pairs): each returns its sample's value (time,
// usually from timed_us). `warmup` unrecorded pairs run first.
template <typename Measure, typename Floor>
PairedSamples interleave(size_t pairs, Measure&& measure, Floor&& floor, size_t warmup = 1) {
  for (size_t i = 0; i < warmup; ++i) {
    (void)measure(i);
    (void)floor(i);
  }
  PairedSamples samples;
  samples.measured.reserve(pairs);
  samples.floor.reserve(pairs);
  for (size_t i = 0; i < pairs; ++i) {
    samples.measured.push_back(measure(i));
    samples.floor.push_back(floor(i));
  }
  return samples;
}

// Waits until every execution thread of `device` has parked (DeviceStats::parked_execution_threads
// reaching DeviceStats::execution_threads, both from the device's status page): the threads spin
// for microseconds after their last task, then park. Polls the page (a short sleep between
// reads, so the poll leaves the CPU to the threads it waits for) until `limit`; unavailable if
// they have not all parked by then. A device that runs no process has no threads to wait for.
inline Status wait_until_parked(const Device& device,
                                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const DeviceStats stats = device.stats();
    if (stats.parked_execution_threads >= stats.execution_threads) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(
          StatusCode::unavailable,
          fmt::format("the device's execution threads did not park within {} ms "
                      "({} of {} parked): the floor alone cannot be sampled idle",
                      limit.count(), stats.parked_execution_threads, stats.execution_threads));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// Samples floor(i) for i in [0, n) with nothing else running: the caller has no run in flight
// on `device`. It first waits for the device's execution threads to park (wait_until_parked;
// its failure is the result), then runs one unrecorded warm-up sample.
template <typename Floor>
Result<std::vector<double>> sample_alone(const Device& device, size_t n, Floor&& floor) {
  CHIPRT_RETURN_IF_ERROR(wait_until_parked(device));
  (void)floor(0);
  std::vector<double> samples;
  samples.reserve(n);
  for (size_t i = 0; i < n; ++i) samples.push_back(floor(i));
  return samples;
}

// How far the interleaved floor may stray from the floor alone before a record says its floor
// was disturbed (by the device's threads, or by load on the machine).
inline constexpr double kFloorDisturbance = 0.10;

struct BenchResult {
  std::string name;
  std::string floor_name;
  std::string unit;     // of measured and floor: "us" or "ns_per_task"; the JSON keys carry it
  double measured = 0;  // median of the measured samples
  double floor = 0;     // median of the floor samples
  double ratio = 0;     // median of the per-pair ratios measured / floor
  double ratio_q1 = 0;  // and its interquartile range
  double ratio_q3 = 0;
  size_t pairs = 0;
  double goal = 0;                      // the ratio we aim to stay under
  std::map<std::string, double> extra;  // further figures of this result, by JSON key
  // The median of the floor sampled alone (sample_alone), in `unit`; 0: not measured (a floor
  // that is itself a device run has no "alone").
  double floor_alone = 0;

  bool has_floor_alone() const { return floor_alone > 0; }
  // Interleaved floor / floor alone - 1: how much slower the floor was next to the device.
  double floor_shift() const { return has_floor_alone() ? floor / floor_alone - 1 : 0; }
  bool floor_disturbed() const { return std::abs(floor_shift()) > kFloorDisturbance; }
  BenchResult& with_floor_alone(const std::vector<double>& samples, double factor = 1) {
    floor_alone = median(samples) * factor;
    return *this;
  }

  static BenchResult from(std::string name, std::string floor_name, std::string unit,
                          const PairedSamples& samples, double goal) {
    const std::vector<double> ratios = samples.ratios();
    return BenchResult{std::move(name),
                       std::move(floor_name),
                       std::move(unit),
                       median(samples.measured),
                       median(samples.floor),
                       median(ratios),
                       quantile(ratios, 0.25),
                       quantile(ratios, 0.75),
                       samples.pairs(),
                       goal,
                       {},
                       0};
  }
};

}  // namespace chiprt::cli

// Timing for `chiprt bench`: the median of repeated samples, so one slow outlier (a page fault,
// a context switch) does not move a ratio.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace chiprt::cli {

// Calls fn(i) for i in [0, iterations) and returns the median microseconds per call.
template <typename Fn>
double median_us(size_t iterations, Fn&& fn) {
  std::vector<double> samples;
  samples.reserve(iterations);
  for (size_t i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn(i);
    samples.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

struct BenchResult {
  std::string name;
  std::string floor_name;
  double measured_us;
  double floor_us;
  double goal;  // the ratio we aim to stay under
  double ratio() const { return floor_us > 0 ? measured_us / floor_us : 0; }
};

}  // namespace chiprt::cli

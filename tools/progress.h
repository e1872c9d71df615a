// A one-line progress bar on stderr (done/total, rate, ETA), redrawn at most 10 times a second
// by its own thread. Silent unless enabled (the caller checks for a terminal and --json).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace chiprt::cli {

class Progress {
 public:
  // `total` 0 means unknown (duration-bound runs show elapsed time instead of an ETA).
  Progress(bool enabled, uint64_t total, double duration_s);
  ~Progress();
  void advance() { done_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void draw(bool final);
  const bool enabled_;
  const uint64_t total_;
  const double duration_s_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<uint64_t> done_{0};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace chiprt::cli

#include "progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace chiprt::cli {

Progress::Progress(bool enabled, uint64_t total, double duration_s)
    : enabled_(enabled), total_(total), duration_s_(duration_s) {
  if (!enabled_) return;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      draw(false);
    }
  });
}

Progress::~Progress() {
  if (!enabled_) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
  draw(true);
}

void Progress::draw(bool final) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const uint64_t done = done_.load(std::memory_order_relaxed);
  const double rate = elapsed > 0 ? done / elapsed : 0;
  double fraction = 0;
  std::string eta;
  if (total_ > 0) {
    fraction = std::min(1.0, double(done) / total_);
    eta = rate > 0 ? fmt::format("ETA {:.0f}s", (total_ - std::min(done, total_)) / rate) : "ETA ?";
  } else if (duration_s_ > 0) {
    fraction = std::min(1.0, elapsed / duration_s_);
    eta = fmt::format("{:.0f}/{:.0f}s", elapsed, duration_s_);
  }
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  fmt::print(stderr, "\r[{}{}] {}{} {:.0f} op/s {}   {}", std::string(filled, '#'),
             std::string(kWidth - filled, ' '), done, total_ ? fmt::format("/{}", total_) : "",
             rate, eta, final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace chiprt::cli

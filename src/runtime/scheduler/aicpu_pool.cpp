#include "runtime/scheduler/aicpu_pool.h"

#include <string>

#include "base/thread_name.h"

namespace chiprt::runtime {

AicpuPool::AicpuPool(uint32_t threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  try {
    for (uint32_t i = 0; i < threads; ++i) {
      // Named here, not by the thread itself: the name is there before the device reports
      // ready, even for a thread not yet scheduled.
      threads_.emplace_back([this] { loop(); });
      name_thread(threads_.back().native_handle(), "chiprt-aicpu" + std::to_string(i));
    }
  } catch (...) {
    stop();  // join what started, so the exception leaves no joinable thread behind
    throw;
  }
}

AicpuPool::~AicpuPool() {
  stop();
}

void AicpuPool::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void AicpuPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

void AicpuPool::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace chiprt::runtime

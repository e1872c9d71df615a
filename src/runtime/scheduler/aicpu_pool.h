// AicpuPool: the simulated chip's AICPU threads. tmr runs each orchestration entry here, so
// at most profile().aicpu_threads orchestrations run at once; further runs queue. Idle
// threads park on a condition variable.
//
// Thread safety: post() is safe from any thread. The destructor runs queued jobs to completion
// and joins the threads. The constructor throws std::system_error when a thread cannot start
// (after joining the ones that did).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace chiprt::runtime {

class AicpuPool {
 public:
  explicit AicpuPool(uint32_t threads);
  ~AicpuPool();
  AicpuPool(const AicpuPool&) = delete;
  AicpuPool& operator=(const AicpuPool&) = delete;

  void post(std::function<void()> job);

 private:
  void loop();
  void stop() noexcept;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chiprt::runtime

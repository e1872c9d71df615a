// CorePool: the simulated chip's AIC and AIV core threads and their ready queues.
//
// One FIFO ready queue per core type; every core of that type takes work from it. A core
// that finds its queue empty parks on a condition variable (no spinning at rest) and is woken
// by push(). Work items are (GraphRun, node) pairs: the pool knows nothing about graphs, the
// GraphRun runs the kernel and releases successors, and may hand the core a follow-up node of
// the same core type to run at once (so a chain of dependent tasks stays on one core without
// a queue round trip).
//
// Thread safety: push() is safe from any thread. The destructor stops and joins every core;
// the caller guarantees no run is still executing on the pool by then.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "chiprt/image.h"

namespace chiprt::runtime {

class GraphRun;

struct ReadyTask {
  GraphRun* run;  // borrowed: a run outlives its queued tasks
  uint32_t node;
};

class CorePool {
 public:
  // `aic` and `aiv` core threads (each at least 1 is used when the count is 0, so a profile
  // without a core type still makes progress rather than hanging).
  CorePool(uint32_t aic, uint32_t aiv);
  ~CorePool();
  CorePool(const CorePool&) = delete;
  CorePool& operator=(const CorePool&) = delete;

  void push(CoreType core, ReadyTask task);
  uint32_t cores(CoreType core) const { return queue(core).count; }

 private:
  struct Queue {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<ReadyTask> tasks;
    uint32_t parked = 0;                // cores waiting on `wake`
    std::atomic<uint32_t> queued{0};    // tasks.size(), readable without the lock
    std::atomic<bool> spinning{false};  // one core is polling before it parks
    uint32_t count = 0;
    bool stop = false;
    std::vector<std::thread> threads;
  };
  Queue& queue(CoreType core) { return core == CoreType::aic ? aic_ : aiv_; }
  const Queue& queue(CoreType core) const { return core == CoreType::aic ? aic_ : aiv_; }
  void start(Queue& q, CoreType core, uint32_t count);
  void loop(Queue& q, CoreType core, uint32_t index);

  Queue aic_;
  Queue aiv_;
};

}  // namespace chiprt::runtime

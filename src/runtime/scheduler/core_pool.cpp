#include "runtime/scheduler/core_pool.h"

#include <optional>

#include "runtime/scheduler/graph_run.h"

namespace chiprt::runtime {
namespace {
constexpr int kSpins = 64;  // yields before parking: a few microseconds
}  // namespace

CorePool::CorePool(uint32_t aic, uint32_t aiv) {
  start(aic_, CoreType::aic, aic == 0 ? 1 : aic);
  start(aiv_, CoreType::aiv, aiv == 0 ? 1 : aiv);
}

void CorePool::start(Queue& q, CoreType core, uint32_t count) {
  q.count = count;
  q.threads.reserve(count);
  for (uint32_t i = 0; i < count; ++i)
    q.threads.emplace_back([this, &q, core, i] { loop(q, core, i); });
}

CorePool::~CorePool() {
  for (Queue* q : {&aic_, &aiv_}) {
    {
      std::lock_guard lock(q->mutex);
      q->stop = true;
    }
    q->wake.notify_all();
  }
  for (Queue* q : {&aic_, &aiv_}) {
    for (std::thread& t : q->threads) t.join();
  }
}

void CorePool::push(CoreType core, ReadyTask task) {
  Queue& q = queue(core);
  bool wake = false;
  {
    std::lock_guard lock(q.mutex);
    q.tasks.push_back(task);
    q.queued.store(static_cast<uint32_t>(q.tasks.size()), std::memory_order_release);
    wake = q.parked > 0 && !q.spinning.load(std::memory_order_acquire);
  }
  if (wake) q.wake.notify_one();
}

void CorePool::loop(Queue& q, CoreType core, uint32_t index) {
  for (;;) {
    ReadyTask task;
    if (!q.spinning.exchange(true, std::memory_order_acq_rel)) {
      for (int i = 0; i < kSpins && q.queued.load(std::memory_order_acquire) == 0; ++i) {
        std::this_thread::yield();
      }
      q.spinning.store(false, std::memory_order_release);
    }
    bool more = false;
    {
      std::unique_lock lock(q.mutex);
      ++q.parked;
      q.wake.wait(lock, [&] { return q.stop || !q.tasks.empty(); });
      --q.parked;
      if (q.tasks.empty()) return;  // stopping
      task = q.tasks.front();
      q.tasks.pop_front();
      q.queued.store(static_cast<uint32_t>(q.tasks.size()), std::memory_order_release);
      more = !q.tasks.empty() && q.parked > 0;
    }
    // A push seen by the spinner woke nobody: pass the wake on while work remains queued.
    if (more) q.wake.notify_one();
    // Run the task, then any follow-up the run hands back for this same core.
    std::optional<uint32_t> next = task.node;
    while (next) next = task.run->execute(*next, core, index);
  }
}

}  // namespace chiprt::runtime

#include "runtime/scheduler/core_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <system_error>

#include "base/thread_name.h"
#include "runtime/scheduler/graph_run.h"

namespace chiprt::runtime {
namespace {
constexpr int kSpins = 64;             // yields before parking: a few microseconds
constexpr size_t kTakeMax = 8;         // ready tasks one thread takes from the queue at once
constexpr uint64_t kHelpChain = 1024;  // tasks of one chain a helping thread runs at most
}  // namespace

CorePool::CorePool(uint32_t aic, uint32_t aiv)
    : aic_(aic ? aic : 1), aiv_(aiv ? aiv : 1), pool_id_([] {
        static std::atomic<uint64_t> pools{0};
        return ++pools;
      }()) {}

Result<std::unique_ptr<CorePool>> CorePool::create(uint32_t aic, uint32_t aiv, uint32_t threads) {
  std::unique_ptr<CorePool> pool(new CorePool(aic, aiv));
  if (threads == 0) threads = default_threads();
  threads = std::min(threads, pool->aic_ + pool->aiv_);
  try {
    pool->threads_.reserve(threads);
    for (uint32_t t = 0; t < threads; ++t) {
      // Named here, not by the thread itself: the name is there before the device reports
      // ready, even for a thread not yet scheduled.
      pool->threads_.emplace_back([raw = pool.get(), t] { raw->loop(t); });
      name_thread(pool->threads_.back().native_handle(), "chiprt-core" + std::to_string(t));
    }
  } catch (const std::system_error& e) {
    return Status(StatusCode::unavailable,
                  fmt::format("starting core execution thread {} of {}: {}", pool->threads_.size(),
                              threads, e.what()));
  }
  return pool;
}

uint32_t CorePool::default_threads() {
  // Measured on a 2-thread machine, 5 interleaved `chiprt bench` runs each: 1 execution thread
  // against 2 gave the tmr DAG ratio 1.26 against 1.33, the hbg replay 1.53 against 1.67, and
  // the tiled wavefront 1.58 against 1.83 (tmr) and 1.39 against 1.54 (hbg).
  const uint32_t machine = std::thread::hardware_concurrency();
  return machine > 1 ? machine - 1 : 1;
}

CorePool::~CorePool() {
  stop();
}

void CorePool::stop() noexcept {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void CorePool::push(ReadyTask task) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(task);
    queued_.store(static_cast<uint32_t>(tasks_.size()), std::memory_order_release);
    wake = parked_ > 0 && !spinning_.load(std::memory_order_acquire) && !helping_alone_;
  }
  if (wake) wake_.notify_one();
}

void CorePool::push(GraphRun* run, std::span<const uint32_t> nodes, bool wake_threads) {
  if (nodes.empty()) return;
  uint32_t wake = 0;
  {
    std::lock_guard lock(mutex_);
    for (uint32_t node : nodes) tasks_.push_back(ReadyTask{run, node});
    queued_.store(static_cast<uint32_t>(tasks_.size()), std::memory_order_release);
    // A spinner takes one of them and passes the wake on if more remain.
    const uint32_t takers =
        static_cast<uint32_t>(nodes.size()) - (spinning_.load(std::memory_order_acquire) ? 1 : 0);
    wake = wake_threads && !helping_alone_ ? std::min(parked_, takers) : 0;
  }
  for (uint32_t i = 0; i < wake; ++i) wake_.notify_one();
}

void CorePool::wake_for_queued() {
  uint32_t wake = 0;
  {
    std::lock_guard lock(mutex_);
    wake = std::min<uint32_t>(parked_, static_cast<uint32_t>(tasks_.size()));
  }
  for (uint32_t i = 0; i < wake; ++i) wake_.notify_one();
}

thread_local bool CorePool::helping_alone_ = false;

void CorePool::help(std::chrono::microseconds budget, bool alone) {
  const auto until = std::chrono::steady_clock::now() + budget;
  helping_alone_ = alone;
  while (help_once(kHelpChain) && std::chrono::steady_clock::now() < until) {
  }
  if (alone) {
    helping_alone_ = false;
    wake_for_queued();  // the budget ran out first: the pool takes the rest
  }
}

bool CorePool::help_once(uint64_t max_chain) {
  ReadyTask task;
  {
    std::lock_guard lock(mutex_);
    if (tasks_.empty()) return false;
    task = tasks_.front();
    tasks_.pop_front();
    queued_.store(static_cast<uint32_t>(tasks_.size()), std::memory_order_release);
  }
  GraphRun::Chains chains;
  task.run->run_chain(task.node, helper_thread(), chains, max_chain);
  task.run->count_chains(chains);  // the run may be gone after this
  return true;
}

uint32_t CorePool::helper_thread() const {
  thread_local uint64_t pool = 0;
  thread_local uint32_t thread = 0;
  if (pool != pool_id_) {
    pool = pool_id_;
    thread = threads() + helpers_.fetch_add(1, std::memory_order_relaxed);
  }
  return thread;
}

void CorePool::loop(uint32_t thread) {
  for (;;) {
    ReadyTask taken[kTakeMax];
    size_t take = 0;
    if (!spinning_.exchange(true, std::memory_order_acq_rel)) {
      for (int i = 0; i < kSpins && queued_.load(std::memory_order_acquire) == 0; ++i) {
        std::this_thread::yield();
      }
      spinning_.store(false, std::memory_order_release);
    }
    bool more = false;
    {
      std::unique_lock lock(mutex_);
      ++parked_;
      if (parked_gauge_ != nullptr) parked_gauge_->store(parked_, std::memory_order_relaxed);
      wake_.wait(lock, [&] { return stop_ || !tasks_.empty(); });
      --parked_;
      if (parked_gauge_ != nullptr) parked_gauge_->store(parked_, std::memory_order_relaxed);
      if (tasks_.empty()) return;  // stopping
      // This thread's share of the queue, so that a busy pool takes the lock about once per
      // share rather than once per task while every thread still gets work.
      take = std::min<size_t>(kTakeMax, (tasks_.size() + threads_.size() - 1) / threads_.size());
      for (size_t i = 0; i < take; ++i) {
        taken[i] = tasks_.front();
        tasks_.pop_front();
      }
      queued_.store(static_cast<uint32_t>(tasks_.size()), std::memory_order_release);
      more = !tasks_.empty() && parked_ > 0;
    }
    // A push seen by the spinner woke nobody: pass the wake on while work remains queued.
    if (more) wake_.notify_one();
    // Each task, then the successors it frees, as this thread's logical core of its type. A run
    // stays alive while tasks of it are held here (they are not yet counted complete). A run's
    // chains are counted together once the last of its tasks taken here ran; it may be gone
    // after that.
    GraphRun::Chains chains[kTakeMax];
    for (size_t i = 0; i < take; ++i) {
      taken[i].run->run_chain(taken[i].node, thread, chains[i]);
      size_t later = i + 1;
      while (later < take && taken[later].run != taken[i].run) ++later;
      if (later == take) {
        taken[i].run->count_chains(chains[i]);
        continue;
      }
      chains[later].completed += chains[i].completed;
      chains[later].unreported += chains[i].unreported;
    }
  }
}

}  // namespace chiprt::runtime

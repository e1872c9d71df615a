// CorePool: the chip's AIC and AIV cores as logical cores, executed by a pool of host threads
// sized to the machine (not a thread per simulated core): by default one fewer than its hardware
// threads (at least one), because the chip's AICPU threads (a running tmr orchestration is its
// run's critical path), the thread serving the device's channel and the host's caller need a
// hardware thread too. On a 2-thread machine a pool of 2 made fine-grained runs slower than a
// pool of 1 on both runtimes (see the pool size in CorePool::create).
//
// A ready task keeps its core type; execution thread t runs it as core t mod (cores of that
// type), so traces, core_index in kernel arguments and the profile's counts stay meaningful
// while a 72-core chip costs no more threads than the machine has. One FIFO ready queue; a
// thread that finds it empty spins briefly (one spinner at a time), then parks on a condition
// variable, so an idle pool uses no CPU. GraphRun::execute may hand the thread a follow-up
// task (a successor freed by the one it just ran), which it runs at once without a queue trip.
//
// Thread safety: push() is safe from any thread. The destructor stops and joins the threads;
// the caller guarantees no run is still executing on the pool by then.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "chiprt/image.h"
#include "chiprt/status.h"
#include "runtime/scheduler/ready_queue.h"

namespace chiprt::runtime {

class GraphRun;

struct ReadyTask {
  GraphRun* run;  // borrowed: a run outlives its queued tasks
  uint32_t node;
};

class CorePool {
 public:
  // `aic` and `aiv` logical cores (a type with 0 cores still runs, as core 0) on `threads`
  // execution threads (0: default_threads(); never more than aic + aiv).
  // unavailable when a thread cannot be started (the ones started are stopped again).
  static Result<std::unique_ptr<CorePool>> create(uint32_t aic, uint32_t aiv, uint32_t threads);
  ~CorePool();
  CorePool(const CorePool&) = delete;
  CorePool& operator=(const CorePool&) = delete;

  void push(ReadyTask task);
  // Publishes ready nodes of one run under one lock, waking as many parked threads as needed
  // (none if `wake` is false: the caller runs them itself, see help()).
  void push(GraphRun* run, std::span<const uint32_t> nodes, bool wake = true);
  // Runs queued tasks on the calling thread (not one of the pool's) until the queue is empty or
  // `budget` has passed, checked between chains; a chain runs to its end on this thread as on a
  // pool thread, but one longer than kHelpChain tasks hands the rest back to the pool. For a
  // thread with other duties (the device's channel) that is awake anyway when it publishes work
  // the pool's threads must first wake for.
  // `alone`: the pool's parked threads are not woken for what this thread publishes meanwhile
  // (a graph it expects to finish within the budget: spreading it over threads would cost more
  // in wake-ups and cache lines moving between them than it saves); whatever is still queued
  // when it stops wakes them then.
  void help(std::chrono::microseconds budget, bool alone = false);
  // Runs one queued task, and the chain it frees up to `max_chain` tasks, on the calling thread
  // (not one of the pool's); false when the queue was empty. For a thread that would otherwise
  // park until the pool's threads got that far (a tmr orchestration waiting for a ring slot):
  // it makes the progress itself, with no wake-up on the way.
  bool help_once(uint64_t max_chain);
  // The execution thread a helping thread runs as: threads() for the first thread of this pool
  // to help, threads() + 1 for the next, and so on, so that helpers run as logical cores of
  // their own where the chip has enough cores of the type.
  uint32_t helper_thread() const;
  // For a thread that runs what it publishes itself (a short tmr orchestration): while set, its
  // push()es wake no parked thread. Then wake_for_queued() hands the pool what is left.
  static void publish_quietly(bool quiet) { helping_alone_ = quiet; }
  void wake_for_queued();
  // Threads parked waiting for work (a snapshot).
  uint32_t parked() {
    std::lock_guard lock(mutex_);
    return parked_;
  }
  // Keeps `gauge` equal to parked() from now on (the device's status page); it must outlive
  // the pool.
  void report_parked_to(std::atomic<uint32_t>& gauge) {
    std::lock_guard lock(mutex_);
    parked_gauge_ = &gauge;
    gauge.store(parked_, std::memory_order_relaxed);
  }
  // Ready tasks waiting for a thread (a snapshot).
  uint32_t queued() const { return queued_.load(std::memory_order_acquire); }
  uint32_t cores(CoreType core) const { return core == CoreType::aic ? aic_ : aiv_; }
  uint32_t threads() const { return static_cast<uint32_t>(threads_.size()); }
  // The machine's hardware threads less one, at least one.
  static uint32_t default_threads();

 private:
  CorePool(uint32_t aic, uint32_t aiv);
  void loop(uint32_t thread);
  static thread_local bool helping_alone_;  // pushes from this thread wake nobody
  void stop() noexcept;

  const uint32_t aic_;
  const uint32_t aiv_;
  std::mutex mutex_;
  std::condition_variable wake_;
  ReadyQueue<ReadyTask> tasks_;
  uint32_t parked_ = 0;                            // threads waiting on wake_
  std::atomic<uint32_t>* parked_gauge_ = nullptr;  // mirrors parked_, under mutex_
  std::atomic<uint32_t> queued_{0};                // tasks_.size(), readable without the lock
  std::atomic<bool> spinning_{false};              // one thread is polling before it parks
  const uint64_t pool_id_;                         // tells this pool's helpers from a former pool's
  mutable std::atomic<uint32_t> helpers_{0};       // helper threads seen
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chiprt::runtime

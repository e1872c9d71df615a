// WorkerPool: one ChipWorker per (runtime, device) over N simulated chips in one process, each
// chip with its own device memory and cores. This is the shape of a long-lived test session:
// callers ask for the worker of a (runtime, device) pair, or let the pool place work.
//
// Contract:
// - Workers are created with the pool and live until finalize() or destruction; the references
//   handed out are borrowed and valid for the pool's lifetime.
// - Every method is thread-safe; placement helpers may be called from any number of threads.
// - finalize() finalizes every worker (each one reports its own leaked registrations).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "chiprt/worker.h"

namespace chiprt {

struct WorkerPoolOptions {
  size_t devices = 1;
  std::string profile = "a2a3";
  uint64_t device_memory_bytes = 1ull << 30;
  std::vector<RuntimeKind> runtimes = {RuntimeKind::tmr, RuntimeKind::hbg};
  WorkerOptions worker;  // its runtime field is set per worker
};

struct DeviceSummary {
  size_t device = 0;
  DeviceStats memory;
  std::vector<WorkerStats> workers;  // one per runtime, in WorkerPoolOptions::runtimes order
};

struct WorkerPoolStats {
  std::vector<DeviceSummary> devices;
  uint64_t registrations_live = 0;
  uint64_t distinct_buffers_live = 0;
  uint64_t loads = 0;
  uint64_t unloads = 0;
  uint64_t runs = 0;
  uint64_t deferred_releases = 0;
  uint64_t leaked_registrations = 0;
};

class WorkerPool {
 public:
  static Result<std::unique_ptr<WorkerPool>> create(const WorkerPoolOptions& options);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t device_count() const { return devices_.size(); }
  Device& device(size_t index) const { return *devices_.at(index); }

  // The worker of (runtime, device), or not_found.
  Result<ChipWorker*> worker(RuntimeKind runtime, size_t device) const;
  // Placement: the next device in turn, or the one with the fewest live registrations.
  Result<ChipWorker*> round_robin(RuntimeKind runtime);
  Result<ChipWorker*> least_loaded(RuntimeKind runtime) const;

  WorkerPoolStats stats() const;
  void finalize();

 private:
  WorkerPool() = default;
  Result<size_t> runtime_slot(RuntimeKind runtime) const;
  std::vector<RuntimeKind> runtimes_;
  std::vector<std::shared_ptr<Device>> devices_;
  std::vector<std::unique_ptr<ChipWorker>> workers_;  // [device * runtimes + slot]
  std::atomic<size_t> next_device_{0};
};

}  // namespace chiprt

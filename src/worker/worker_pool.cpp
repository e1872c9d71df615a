#include "chiprt/worker_pool.h"

#include <fmt/format.h>

#include <algorithm>

namespace chiprt {

Result<std::unique_ptr<WorkerPool>> WorkerPool::create(const WorkerPoolOptions& options) {
  if (options.devices == 0 || options.runtimes.empty()) {
    return Status(StatusCode::invalid_argument, "a worker pool needs devices and runtimes");
  }
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile(options.profile));
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->runtimes_ = options.runtimes;
  for (size_t d = 0; d < options.devices; ++d) {
    auto device = create_sim_chip(profile, options.device_memory_bytes);
    if (!device) {
      return Status(StatusCode::out_of_device_memory,
                    fmt::format("cannot create simulated device {} of {} bytes", d,
                                options.device_memory_bytes));
    }
    for (RuntimeKind runtime : options.runtimes) {
      WorkerOptions worker_options = options.worker;
      worker_options.runtime = runtime;
      CHIPRT_ASSIGN_OR_RETURN(auto worker, ChipWorker::create(device, std::move(worker_options)));
      pool->workers_.push_back(std::move(worker));
    }
    pool->devices_.push_back(std::move(device));
  }
  return pool;
}

WorkerPool::~WorkerPool() {
  finalize();
}

Result<size_t> WorkerPool::runtime_slot(RuntimeKind runtime) const {
  auto it = std::find(runtimes_.begin(), runtimes_.end(), runtime);
  if (it == runtimes_.end()) {
    return Status(StatusCode::not_found,
                  fmt::format("this pool has no {} workers", runtime_name(runtime)));
  }
  return static_cast<size_t>(it - runtimes_.begin());
}

Result<ChipWorker*> WorkerPool::worker(RuntimeKind runtime, size_t device) const {
  CHIPRT_ASSIGN_OR_RETURN(size_t slot, runtime_slot(runtime));
  if (device >= devices_.size()) {
    return Status(StatusCode::not_found,
                  fmt::format("device {} of a {}-device pool", device, devices_.size()));
  }
  return workers_[device * runtimes_.size() + slot].get();
}

Result<ChipWorker*> WorkerPool::round_robin(RuntimeKind runtime) {
  return worker(runtime, next_device_.fetch_add(1, std::memory_order_relaxed) % devices_.size());
}

Result<ChipWorker*> WorkerPool::least_loaded(RuntimeKind runtime) const {
  CHIPRT_ASSIGN_OR_RETURN(size_t slot, runtime_slot(runtime));
  ChipWorker* best = nullptr;
  uint64_t best_live = UINT64_MAX;
  for (size_t d = 0; d < devices_.size(); ++d) {
    ChipWorker* candidate = workers_[d * runtimes_.size() + slot].get();
    const uint64_t live = candidate->stats().registrations_live;
    if (live < best_live) {
      best = candidate;
      best_live = live;
    }
  }
  return best;
}

WorkerPoolStats WorkerPool::stats() const {
  WorkerPoolStats out;
  for (size_t d = 0; d < devices_.size(); ++d) {
    DeviceSummary summary{d, devices_[d]->stats(), {}};
    for (size_t slot = 0; slot < runtimes_.size(); ++slot) {
      WorkerStats w = workers_[d * runtimes_.size() + slot]->stats();
      out.registrations_live += w.registrations_live;
      out.distinct_buffers_live += w.distinct_buffers_live;
      // A worker's figure is its device's (shared by the device's workers) plus its sandbox's:
      // the device's part is added once per device, below.
      out.loads += w.loads - w.device.code_loads;
      out.unloads += w.unloads - w.device.code_unloads;
      out.runs += w.runs;
      out.deferred_releases += w.deferred_releases;
      out.leaked_registrations += w.leaked_registrations;
      summary.workers.push_back(std::move(w));
    }
    // Read after the workers': the device's counts only grow, so the sum never comes out short.
    const DeviceStats device = devices_[d]->stats();
    out.loads += device.code_loads;
    out.unloads += device.code_unloads;
    out.devices.push_back(std::move(summary));
  }
  return out;
}

void WorkerPool::finalize() {
  for (auto& worker : workers_) worker->finalize();
}

}  // namespace chiprt

// HeapPool: the intermediate heaps of one worker, on the host. A heap is one device buffer
// tagged `runtime` of the worker's heap limit; a run borrows one for its duration and places
// every intermediate inside it (tmr: the device's TmrRun; hbg: the recorded heap offsets), so
// the heap limit bounds the device memory intermediates use.
//
// Heaps are made lazily: the first run that needs one allocates it (tmr: every run, since the
// orchestration may allocate at any point; hbg: a run whose recorded graph has intermediates),
// and a returned heap is reused by the next run. Runs of one worker may be concurrent; each
// running run holds its own heap, so the pool holds as many heaps as runs were ever at once
// (sequential runs: exactly one). When the device cannot fit another heap while some are lent,
// acquire() waits for one to come back instead of failing: device memory bounds how many runs
// of one worker hold a heap at once. Heaps are freed by release_all() (the worker's finalize)
// or with the pool. Contents are not cleared between runs: an intermediate's contents are
// unspecified until written.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "chiprt/device.h"
#include "chiprt/worker.h"

namespace chiprt::runtime {

// The heap limit of a worker on `device`: WorkerOptions::heap_bytes when set (taken as is), else
// the chip profile's default (else 64 MiB) capped at a quarter of the device's capacity, since
// every run in flight holds a heap of this size in device memory.
uint64_t worker_heap_bytes(const Device& device, const WorkerOptions& options);

class HeapPool {
 public:
  // A heap borrowed for one run; returns it to the pool when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { reset(); }
    void reset() noexcept;
    DeviceAddr addr() const { return heap_.addr(); }

   private:
    friend class HeapPool;
    Lease(HeapPool* pool, DeviceBuffer heap) : pool_(pool), heap_(std::move(heap)) {}
    HeapPool* pool_ = nullptr;
    DeviceBuffer heap_;
  };

  HeapPool(Device& device, uint64_t heap_bytes) : device_(device), heap_bytes_(heap_bytes) {}
  ~HeapPool() = default;  // every lease must be gone: they point here

  uint64_t heap_bytes() const { return heap_bytes_; }
  // A free heap, else a new one, else (the device cannot fit one) the next one returned;
  // out_of_device_memory only when no heap is lent that could come back.
  Result<Lease> acquire();
  // Frees every heap not lent out (at finalize none is); returns how many were freed.
  size_t release_all() noexcept;

  // Device bytes of the heaps the pool holds (lent or not), as the device allocated them.
  uint64_t reserved_bytes() const;
  size_t heaps() const;

 private:
  void give_back(DeviceBuffer heap) noexcept;

  Device& device_;
  const uint64_t heap_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<DeviceBuffer> free_;
  size_t heaps_ = 0;  // free_ plus lent
  size_t lent_ = 0;
  uint64_t reserved_bytes_ = 0;  // their allocation sizes
};

}  // namespace chiprt::runtime

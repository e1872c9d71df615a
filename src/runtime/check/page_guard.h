// PageGuard: memcheck's guard pages. While a checked kernel runs, every page of device memory
// that holds no byte of a tensor its task names is PROT_NONE in this process's mapping, so an
// access there (a read as well as a write, however far) faults. The SIGSEGV handler notes the
// address for the task when the faulting thread is the one running it, makes the page
// accessible again and returns: the access then completes as it would on the chip, and the
// finding is made after the kernel. A fault of another thread on a guarded page is let through
// the same way, unnoted; any other fault goes to the handler installed before (the default one,
// or a sanitizer's), as if this one did not exist.
//
// One guarded kernel at a time per process (checked runs execute one task at a time; a second
// checked run's kernel waits for the first's to end). Page granularity: an access past a tensor
// but inside its last page is not seen here (memcheck's snapshot sees such writes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

namespace chiprt::runtime {

class PageGuard {
 public:
  struct Fault {
    const std::byte* address;
    bool write;
  };
  static constexpr size_t kMaxFaults = 64;  // per kernel

  // Guards `memory` except the pages of `allowed` (each a [begin, end) range inside it) until
  // the guard is destroyed; takes the process's one guard slot, waiting for it if need be.
  using Range = std::pair<const std::byte*, const std::byte*>;
  PageGuard(std::span<std::byte> memory, std::vector<Range> allowed);
  ~PageGuard();
  PageGuard(const PageGuard&) = delete;
  PageGuard& operator=(const PageGuard&) = delete;

  // The faults of the guarded thread so far (at most kMaxFaults; the first of each page).
  std::vector<Fault> faults() const;
  // False when guard pages could not be set up (the kernel then runs unguarded).
  bool active() const { return active_; }

 private:
  std::unique_lock<std::mutex> slot_;
  std::span<std::byte> memory_;
  bool active_ = false;
};

}  // namespace chiprt::runtime

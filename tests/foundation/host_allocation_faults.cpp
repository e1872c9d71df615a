#include "host_allocation_faults.h"

#include <cstdlib>
#include <new>

// AddressSanitizer lets a program replace operator new (this one allocates with malloc, which it
// still checks); ThreadSanitizer and MemorySanitizer keep theirs.
#if defined(__has_feature)
#if __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#define CHIPRT_SANITIZED_NEW 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CHIPRT_SANITIZED_NEW 1
#endif

namespace chiprt::test::host_allocation_faults {
namespace {
thread_local uint64_t countdown = 0;
thread_local bool failed = false;
thread_local uint64_t requested = 0;
}  // namespace

namespace {
// Whether this allocation is the armed one (then it throws).
bool fails_now() {
  if (countdown == 0 || --countdown != 0) return false;
  failed = true;
  return true;
}

void count_request(std::size_t size) {
  requested += size;
}
}  // namespace

#ifdef CHIPRT_SANITIZED_NEW
bool supported() {
  return false;
}
#else
bool supported() {
  return true;
}
#endif

void fail_nth(uint64_t nth) {
  countdown = nth;
  failed = false;
}

bool disarm() {
  countdown = 0;
  return failed;
}

uint64_t requested_bytes() {
  return requested;
}

}  // namespace chiprt::test::host_allocation_faults

#ifndef CHIPRT_SANITIZED_NEW
// operator new[] and the nothrow forms call this one; every delete frees with free().
void* operator new(std::size_t size) {
  if (chiprt::test::host_allocation_faults::fails_now()) throw std::bad_alloc();
  chiprt::test::host_allocation_faults::count_request(size);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
#endif

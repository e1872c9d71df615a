// Host allocation failure on demand: this test binary replaces the global operator new so that
// the Nth allocation made by the calling thread, counted from arming, throws std::bad_alloc.
// Other threads and unarmed calls allocate normally. Not available under ThreadSanitizer or
// MemorySanitizer (which own operator new): supported() is false there.
#pragma once

#include <cstdint>

namespace chiprt::test::host_allocation_faults {

bool supported();
// The `nth` (1-based) allocation of this thread from now fails; 0 disarms.
void fail_nth(uint64_t nth);
// Disarms; true when the armed failure happened.
bool disarm();
// Bytes this thread has asked operator new for since it started (sizes as requested): the
// difference across a piece of code is what it allocated, an independent measure of what a
// cache says it holds. 0 where supported() is false.
uint64_t requested_bytes();

}  // namespace chiprt::test::host_allocation_faults

// Host allocation failure on demand: this test binary replaces the global operator new so that
// the Nth allocation made by the calling thread, counted from arming, throws std::bad_alloc.
// Other threads and unarmed calls allocate normally. Not available under a sanitizer (which
// owns operator new): supported() is false there.
#pragma once

#include <cstdint>

namespace chiprt::test::host_allocation_faults {

bool supported();
// The `nth` (1-based) allocation of this thread from now fails; 0 disarms.
void fail_nth(uint64_t nth);
// Disarms; true when the armed failure happened.
bool disarm();

}  // namespace chiprt::test::host_allocation_faults

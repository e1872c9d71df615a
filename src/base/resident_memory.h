// Resident memory of a process as Linux reports it (/proc/PID/status: VmRSS, VmHWM), for the
// figures chiprt reports about the processes it runs. Zeros when the process is gone or the
// fields cannot be read.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace chiprt {

struct ResidentMemory {
  uint64_t resident_bytes = 0;       // VmRSS
  uint64_t peak_resident_bytes = 0;  // VmHWM
};

// `pid` 0 is the calling process.
ResidentMemory resident_memory(pid_t pid = 0);

}  // namespace chiprt

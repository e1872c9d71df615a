// TaskDesc: everything a core needs to run one task, as both runtimes hand it to GraphRun.
#pragma once

#include <cstdint>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/image.h"

namespace chiprt::runtime {

// Everything a core needs to run one task. Borrowed pointers stay valid until the task retired.
struct TaskDesc {
  uint64_t task_id = 0;
  uint32_t func_id = 0;
  CoreType core = CoreType::aiv;
  chiprt_kernel_entry_fn entry = nullptr;  // nullptr: not a kernel of this callable
  uint32_t param_count = 0;
  const chiprt_param_t* params = nullptr;  // views carry the runtime's tensor handles
  std::byte* const* bases = nullptr;       // per param: host pointer of its tensor's element 0
};

}  // namespace chiprt::runtime

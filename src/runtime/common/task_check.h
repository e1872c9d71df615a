// check_task: validates one submitted task against the callable that runs it and the run's
// tensors, before anything about it is recorded. Shared by both runtimes so tmr and hbg
// accept and reject exactly the same tasks.
//
// The dispatch table of a run is the leased callable's own kernel list (KernelTable): a func_id
// that is not one of its children is not_found, and a task must name the core type its kernel
// was packed for.
#pragma once

#include <cstdint>
#include <vector>

#include "chiprt/abi/orchestration.h"
#include "runtime/common/kernel_table.h"
#include "runtime/common/tensor_table.h"
#include "runtime/common/tensormap.h"

namespace chiprt::runtime {

struct CheckedTask {
  const KernelRef* kernel = nullptr;
  uint32_t count = 0;
  chiprt_param_t params[CHIPRT_MAX_TASK_PARAMS];
  TensorRecord* records[CHIPRT_MAX_TASK_PARAMS];  // nullptr for scalars
};

// `task_id` only names the task in messages.
Status check_task(const chiprt_task_t& task, uint64_t task_id, const KernelTable& kernels,
                  TensorTable& table, CheckedTask& out);

// The tensormap accesses of a checked task.
void task_accesses(const CheckedTask& task, TaskAccesses& out);

}  // namespace chiprt::runtime

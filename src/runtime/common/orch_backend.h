// OrchBackend: the C++ side of the orchestration function table (abi/orchestration.h).
//
// Both runtimes implement it (tmr on an AICPU thread with live execution, hbg on the host as
// a recorder); orch_api_table() is the one C table that forwards each call to the backend
// passed as the entry's `ctx`. The forwarding functions catch every exception, so none ever
// crosses the C ABI (a throw becomes CHIPRT_ORCH_FAILED).
#pragma once

#include <cstdint>

#include "chiprt/abi/orchestration.h"

namespace chiprt::runtime {

class OrchBackend {
 public:
  virtual ~OrchBackend() = default;
  virtual int32_t get_tensor_arg(const char* name, chiprt_tensor_t* out) = 0;
  virtual int32_t get_scalar_arg(const char* name, double* out) = 0;
  virtual int32_t alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                               chiprt_tensor_t* out) = 0;
  virtual int32_t alloc_output(const char* name, uint32_t dtype, uint32_t ndim,
                               const int64_t* shape, chiprt_tensor_t* out) = 0;
  virtual int32_t scope_begin() = 0;
  virtual int32_t scope_end() = 0;
  virtual int32_t submit_task(const chiprt_task_t* task) = 0;
  virtual int32_t sync() = 0;
  virtual void log(const char* message) = 0;
};

// The process-wide table; `ctx` must be an OrchBackend*.
const chiprt_orch_api_t* orch_api_table();

// Calls `entry` with the table and `backend`, returning its code (CHIPRT_ORCH_FAILED if the
// entry is missing).
int32_t call_orchestration(void* entry, OrchBackend& backend);

}  // namespace chiprt::runtime

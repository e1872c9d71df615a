/* Fault orchestration for the device-process tests. Tensor x is 1-D float32 [n]; output out =
 * x + 1, computed by one task of kernel func_id 1 (AIV), which gets scalar `fault`; scalar
 * `chain` (default 1) tasks in all, each after the first adding 1 to out in place, so out =
 * x + chain.
 * Scalar `fault`: 0 healthy; 2..7 the kernel faults or sleeps (see kernel_fault.c);
 *   10 the orchestration dereferences a bad pointer; 11 the orchestration spins forever;
 *   12 the orchestration calls abort(); 13 the orchestration calls exit(0). */
#include <stdint.h>
#include <stdlib.h>

#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  double fault = 0;
  api->get_scalar_arg(ctx, "fault", &fault);
  volatile int spin = 1;
  if (fault == 10) *(volatile int*)(uintptr_t)8 = 1;
  if (fault == 12) abort();
  if (fault == 13) exit(0);
  if (fault == 11) {
    while (spin) {
    }
  }
  chiprt_tensor_t x, out;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1) return 1;
  int32_t rc = api->alloc_output(ctx, "out", x.dtype, 1, x.shape, &out);
  if (rc) return rc;
  chiprt_param_t p[3] = {{0}};
  p[0].kind = CHIPRT_PARAM_INPUT;
  p[0].tensor = x;
  p[1].kind = CHIPRT_PARAM_OUTPUT;
  p[1].tensor = out;
  p[2].kind = CHIPRT_PARAM_SCALAR;
  p[2].scalar = (uint64_t)fault;
  chiprt_task_t task = {1, CHIPRT_CORE_AIV, 3, 0, p};
  rc = api->submit_task(ctx, &task);
  double chain = 1;
  api->get_scalar_arg(ctx, "chain", &chain);
  p[0].tensor = out; /* then out = out + 1, each task after the one before */
  for (int i = 1; i < (int)chain && rc == 0; ++i) rc = api->submit_task(ctx, &task);
  return rc;
}

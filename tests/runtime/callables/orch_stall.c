/* A deadlocked orchestration for the stall-report tests. Tensor x is 1-D float32 [n]; output
 * out. Task 0 (func_id 1, AIV; kernel_fault.c with fault 5) spins forever writing out; task 1
 * (func_id 2, AIV; kernel_fault.c, healthy) then adds 1 to out in place, so it waits on task 0
 * for ever; so does every later task of scalar `tasks` (default 2, each again func_id 2 in
 * place, each after the one before). */
#include <stdint.h>

#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
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
  p[2].scalar = 5; /* spin forever */
  chiprt_task_t never_finishes = {1, CHIPRT_CORE_AIV, 3, 0, p};
  rc = api->submit_task(ctx, &never_finishes);
  double tasks = 2;
  api->get_scalar_arg(ctx, "tasks", &tasks);
  p[0].tensor = out;
  p[2].scalar = 0;
  chiprt_task_t waits = {2, CHIPRT_CORE_AIV, 3, 0, p};
  for (int i = 1; i < (int)tasks && rc == 0; ++i) rc = api->submit_task(ctx, &waits);
  return rc;
}

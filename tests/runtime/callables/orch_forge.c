/* Orchestration for the forged-message tests: out = x + 1 by one task of kernel func_id 1
 * (kernel_forge.cpp), which gets scalars `mode` (what to forge, 0: nothing) and `target` (a
 * device address the forgery names). Tensor x is 1-D float32. */
#include <stdint.h>

#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  double mode = 0, target = 0;
  api->get_scalar_arg(ctx, "mode", &mode);
  api->get_scalar_arg(ctx, "target", &target);
  chiprt_tensor_t x, out;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1) return 1;
  int32_t rc = api->alloc_output(ctx, "out", x.dtype, 1, x.shape, &out);
  if (rc) return rc;
  chiprt_param_t p[4] = {{0}};
  p[0].kind = CHIPRT_PARAM_INPUT;
  p[0].tensor = x;
  p[1].kind = CHIPRT_PARAM_OUTPUT;
  p[1].tensor = out;
  p[2].kind = CHIPRT_PARAM_SCALAR;
  p[2].scalar = (uint64_t)mode;
  p[3].kind = CHIPRT_PARAM_SCALAR;
  p[3].scalar = (uint64_t)target;
  chiprt_task_t task = {1, CHIPRT_CORE_AIV, 4, 0, p};
  return api->submit_task(ctx, &task);
}

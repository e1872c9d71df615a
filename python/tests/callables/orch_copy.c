/* Copy orchestration for the Python package's tests: output y = x, for a tensor x of any dtype
 * and shape, by one task of kernel func_id 1 (AIV). Scalar `fault` (default 0) is passed to the
 * kernel: 2 makes it dereference a bad pointer (the device is lost). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, y;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  double fault = 0;
  api->get_scalar_arg(ctx, "fault", &fault);
  if (api->alloc_output(ctx, "y", x.dtype, x.ndim, x.shape, &y)) return 2;
  chiprt_param_t p[3] = {{0}};
  p[0].kind = CHIPRT_PARAM_INPUT;
  p[0].tensor = x;
  p[1].kind = CHIPRT_PARAM_OUTPUT;
  p[1].tensor = y;
  p[2].kind = CHIPRT_PARAM_SCALAR;
  p[2].scalar = (uint64_t)fault;
  chiprt_task_t task = {1, CHIPRT_CORE_AIV, 3, 0, p};
  return api->submit_task(ctx, &task);
}

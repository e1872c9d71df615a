/* Orchestration for the checks tests: x [R, C] f32 -> y [R, C], one task per row (AIV).
 * Scalar `case`: 0 clean (func 1, y = 2 * x); 1 the last row's task is func 2, which writes 32
 * floats past its row (past the end of y); 2 the last row is never written. */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  double which = 0;
  api->get_scalar_arg(ctx, "case", &which);
  chiprt_tensor_t x, y;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 2) return 1;
  if (api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 2, x.shape, &y)) return 2;
  const int64_t rows = which == 2 ? x.shape[0] - 1 : x.shape[0];
  for (int64_t r = 0; r < rows; ++r) {
    chiprt_param_t p[2] = {{0}};
    p[0].kind = CHIPRT_PARAM_INPUT;
    p[0].tensor = x;
    p[1].kind = CHIPRT_PARAM_OUTPUT;
    p[1].tensor = y;
    for (int i = 0; i < 2; ++i) {
      p[i].tensor.offset += (uint64_t)(r * x.shape[1]);
      p[i].tensor.shape[0] = 1;
    }
    const uint32_t func = which == 1 && r == x.shape[0] - 1 ? 2 : 1;
    chiprt_task_t task = {func, CHIPRT_CORE_AIV, 2, 0, p};
    if (api->submit_task(ctx, &task)) return 3;
  }
  return 0;
}

/* y = 2 * x (x 1-D float32) in tiles of 1024, logging one line when it has submitted them: an
 * orchestration that logs on success, for the tests that stdout carries results alone.
 * Kernels: 1 double (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, y;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1) return 1;
  if (api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 1, x.shape, &y)) return 2;
  for (int64_t at = 0; at < x.shape[0]; at += 1024) {
    const int64_t n = x.shape[0] - at < 1024 ? x.shape[0] - at : 1024;
    chiprt_param_t p[2] = {{CHIPRT_PARAM_INPUT, 0, x, 0}, {CHIPRT_PARAM_OUTPUT, 0, y, 0}};
    for (int i = 0; i < 2; ++i) p[i].tensor.offset = (uint64_t)at, p[i].tensor.shape[0] = n;
    chiprt_task_t task = {1, CHIPRT_CORE_AIV, 2, 0, p};
    if (api->submit_task(ctx, &task)) return 3;
  }
  api->log(ctx, "submitted");
  return 0;
}

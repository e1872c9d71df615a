/* Layered DAG (dispatch benchmarks): a layered DAG of `layers` x `width` (scalars, default 10 x 100)
 * tasks of an empty AIV kernel (func_id 1). Task (l, w) reads elements (l, w) and
 * (l, (w + 1) % width) of tensor t [layers + 1, width] and writes (l + 1, w), so each task
 * after the first layer waits for two tasks of the layer before it. */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static chiprt_param_t element(const chiprt_tensor_t* t, uint32_t kind, int64_t row, int64_t col) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = *t;
  p.tensor.offset = (uint64_t)(row * t->strides[0] + col);
  p.tensor.ndim = 1;
  p.tensor.shape[0] = 1;
  p.tensor.shape[1] = 0;
  p.tensor.strides[0] = 1;
  p.tensor.strides[1] = 0;
  return p;
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t t;
  double layers = 10, width = 100;
  if (api->get_tensor_arg(ctx, "t", &t) || t.ndim != 2) return 1;
  api->get_scalar_arg(ctx, "layers", &layers);
  api->get_scalar_arg(ctx, "width", &width);
  const int64_t l_count = (int64_t)layers, w_count = (int64_t)width;
  if (t.shape[0] < l_count + 1 || t.shape[1] < w_count) return 2;
  for (int64_t l = 0; l < l_count; ++l) {
    for (int64_t w = 0; w < w_count; ++w) {
      const chiprt_param_t p[3] = {element(&t, CHIPRT_PARAM_INPUT, l, w),
                                   element(&t, CHIPRT_PARAM_INPUT, l, (w + 1) % w_count),
                                   element(&t, CHIPRT_PARAM_OUTPUT, l + 1, w)};
      const chiprt_task_t task = {1, CHIPRT_CORE_AIV, 3, 0, p};
      const int32_t rc = api->submit_task(ctx, &task);
      if (rc) return rc;
    }
  }
  return 0;
}

/* Layered DAG (dispatch benchmarks): a layered DAG of `layers` x `width` (scalars, default 10 x
 * 100) tasks of the mark kernel (func_id 1), which does no work. Task (l, w) reads elements (l, w)
 * and (l, (w + 1) % width) of tensor t [layers + 1, width] and writes (l + 1, w), so each task
 * after the first layer waits for two tasks of the layer before it. With the optional i32
 * tensor `marks` [tasks, 2], task k also gets row k of it, where the kernel leaves its mark. */
#include "../orch_util.h"

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
  chiprt_tensor_t t, marks;
  double layers = 10, width = 100;
  if (api->get_tensor_arg(ctx, "t", &t) || t.ndim != 2) return 1;
  api->get_scalar_arg(ctx, "layers", &layers);
  api->get_scalar_arg(ctx, "width", &width);
  const int64_t l_count = (int64_t)layers, w_count = (int64_t)width;
  if (t.shape[0] < l_count + 1 || t.shape[1] < w_count) return 2;
  const int marked = marks_arg(api, ctx, l_count * w_count, &marks);
  if (marked < 0) return 3;
  for (int64_t l = 0; l < l_count; ++l) {
    for (int64_t w = 0; w < w_count; ++w) {
      chiprt_param_t p[4] = {element(&t, CHIPRT_PARAM_INPUT, l, w),
                             element(&t, CHIPRT_PARAM_INPUT, l, (w + 1) % w_count),
                             element(&t, CHIPRT_PARAM_OUTPUT, l + 1, w)};
      if (marked) p[3] = mark_p(&marks, l * w_count + w);
      const int32_t rc = submit(api, ctx, 1, CHIPRT_CORE_AIV, p, marked ? 4 : 3);
      if (rc) return rc;
    }
  }
  return 0;
}

/* Vector example: f = (a + b + 1) * (a + b + 2) + (a + b), elementwise over float32 tensors of
 * any (equal) shape, split into tiles of `tile` elements (scalar argument, default 16384).
 * Kernels: 1 add, 2 add_scalar, 3 mul (all AIV). Five tasks per tile; the runtime derives
 * their order from tensor overlaps. */
#include "chiprt/abi/orchestration.h"
#include "chiprt/abi/image_format.h"

enum { FUNC_ADD = 1, FUNC_ADD_SCALAR = 2, FUNC_MUL = 3 };

static chiprt_tensor_t flat_tile(const chiprt_tensor_t* t, int64_t start, int64_t length) {
  chiprt_tensor_t v = *t;
  v.offset = t->offset + (uint64_t)start;
  v.ndim = 1;
  for (uint32_t d = 0; d < CHIPRT_MAX_DIMS; ++d) v.shape[d] = v.strides[d] = 0;
  v.shape[0] = length;
  v.strides[0] = 1;
  return v;
}

static chiprt_param_t tensor_param(uint32_t kind, chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = t;
  return p;
}

static chiprt_param_t scalar_param(float value) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_SCALAR;
  p.scalar = chiprt_scalar_from_f32(value);
  return p;
}

static int32_t submit(const chiprt_orch_api_t* api, void* ctx, uint32_t func_id,
                      const chiprt_param_t* params, uint32_t count) {
  chiprt_task_t task = {func_id, CHIPRT_CORE_AIV, count, 0, params};
  return api->submit_task(ctx, &task);
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t a, b, f, s, t1, t2;
  if (api->get_tensor_arg(ctx, "a", &a) || api->get_tensor_arg(ctx, "b", &b)) {
    api->log(ctx, "vector: tensor arguments a and b are required");
    return 1;
  }
  int64_t n = 1;
  for (uint32_t d = 0; d < a.ndim; ++d) n *= a.shape[d];
  for (uint32_t d = 0; d < CHIPRT_MAX_DIMS; ++d) {
    if (a.ndim != b.ndim || a.shape[d] != b.shape[d] || a.dtype != CHIPRT_DTYPE_F32 ||
        b.dtype != CHIPRT_DTYPE_F32) {
      api->log(ctx, "vector: a and b must be float32 tensors of the same shape");
      return 2;
    }
  }
  double tile_arg = 16384;
  api->get_scalar_arg(ctx, "tile", &tile_arg); /* optional */
  const int64_t tile = tile_arg >= 1 ? (int64_t)tile_arg : 16384;
  int32_t rc = api->alloc_output(ctx, "f", CHIPRT_DTYPE_F32, a.ndim, a.shape, &f);
  const int64_t flat_shape[1] = {n};
  if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 1, flat_shape, &s);
  if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 1, flat_shape, &t1);
  if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 1, flat_shape, &t2);
  for (int64_t start = 0; !rc && start < n; start += tile) {
    const int64_t len = n - start < tile ? n - start : tile;
    const chiprt_tensor_t at = flat_tile(&a, start, len), bt = flat_tile(&b, start, len);
    const chiprt_tensor_t st = flat_tile(&s, start, len), ft = flat_tile(&f, start, len);
    const chiprt_tensor_t t1t = flat_tile(&t1, start, len), t2t = flat_tile(&t2, start, len);
    const chiprt_param_t sum[3] = {tensor_param(CHIPRT_PARAM_INPUT, at),
                                   tensor_param(CHIPRT_PARAM_INPUT, bt),
                                   tensor_param(CHIPRT_PARAM_OUTPUT, st)};
    const chiprt_param_t plus1[3] = {tensor_param(CHIPRT_PARAM_INPUT, st),
                                     tensor_param(CHIPRT_PARAM_OUTPUT, t1t), scalar_param(1.0f)};
    const chiprt_param_t plus2[3] = {tensor_param(CHIPRT_PARAM_INPUT, st),
                                     tensor_param(CHIPRT_PARAM_OUTPUT, t2t), scalar_param(2.0f)};
    const chiprt_param_t product[3] = {tensor_param(CHIPRT_PARAM_INPUT, t1t),
                                       tensor_param(CHIPRT_PARAM_INPUT, t2t),
                                       tensor_param(CHIPRT_PARAM_OUTPUT, ft)};
    const chiprt_param_t total[3] = {tensor_param(CHIPRT_PARAM_INPUT, ft),
                                     tensor_param(CHIPRT_PARAM_INPUT, st),
                                     tensor_param(CHIPRT_PARAM_OUTPUT, ft)};
    rc = submit(api, ctx, FUNC_ADD, sum, 3);
    if (!rc) rc = submit(api, ctx, FUNC_ADD_SCALAR, plus1, 3);
    if (!rc) rc = submit(api, ctx, FUNC_ADD_SCALAR, plus2, 3);
    if (!rc) rc = submit(api, ctx, FUNC_MUL, product, 3);
    if (!rc) rc = submit(api, ctx, FUNC_ADD, total, 3);
  }
  return rc;
}

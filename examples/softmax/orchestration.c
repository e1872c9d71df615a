/* Row softmax example: out[i, :] = softmax(x[i, :]) for float32 x [R, C], one AIV task per
 * tile of `tile` rows (scalar, default 16). Kernel: 1 softmax_rows (AIV). Row tiles are
 * disjoint, so every task is independent. */
#include "../orch_util.h"

enum { FUNC_SOFTMAX = 1 };

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, out;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  if (x.ndim != 2 || x.dtype != CHIPRT_DTYPE_F32) return 2;
  const int64_t rows = x.shape[0], cols = x.shape[1];
  const int64_t tile = int_arg(api, ctx, "tile", 16);
  int32_t rc = api->alloc_output(ctx, "out", CHIPRT_DTYPE_F32, 2, x.shape, &out);
  for (int64_t r = 0; !rc && r < rows; r += tile) {
    const int64_t nr = min64(tile, rows - r);
    const chiprt_param_t p[3] = {in_p(tile2d(&x, r, nr, 0, cols)),
                                 out_p(tile2d(&out, r, nr, 0, cols)),
                                 u64_p(chiprt_scalar_from_f32(1.0f))};
    rc = submit(api, ctx, FUNC_SOFTMAX, CHIPRT_CORE_AIV, p, 3);
  }
  return rc;
}

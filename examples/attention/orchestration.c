/* Single-head attention example: out = softmax(q @ k^T / sqrt(D)) @ v for float32 q [S, D],
 * k [T, D], v [T, D]. Tiled by `tile` (scalar, default 32) over query rows and key rows:
 *   scores[:, j] = q_i @ k_j^T  AIC, one task per (query tile, key tile): column tiles of one
 *                                row-major intermediate, which must not depend on each other
 *   probs = softmax(scale * scores[i, :])   AIV, waits for every key tile of row tile i
 *   out_i = sum_j probs[:, j] @ v_j             AIC, a chain accumulating over key tiles
 * k^T is a strided view of k (no copy). Kernels: 1 matmul (AIC), 2 softmax_rows (AIV). */
#include <math.h>

#include "../orch_util.h"

enum { FUNC_MATMUL = 1, FUNC_SOFTMAX = 2 };

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t q, k, v, scores, probs, out;
  if (api->get_tensor_arg(ctx, "q", &q) || api->get_tensor_arg(ctx, "k", &k) ||
      api->get_tensor_arg(ctx, "v", &v)) {
    return 1;
  }
  if (q.ndim != 2 || k.ndim != 2 || v.ndim != 2 || q.shape[1] != k.shape[1] ||
      k.shape[0] != v.shape[0]) {
    return 2;
  }
  const int64_t s = q.shape[0], d = q.shape[1], t = k.shape[0], dv = v.shape[1];
  const int64_t tile = int_arg(api, ctx, "tile", 32);
  const float scale = 1.0f / sqrtf((float)d);
  const int64_t out_shape[2] = {s, dv};
  int32_t rc = api->alloc_output(ctx, "out", CHIPRT_DTYPE_F32, 2, out_shape, &out);
  const chiprt_tensor_t kt = transpose2d(k);
  for (int64_t i = 0; !rc && i < s; i += tile) {
    const int64_t si = min64(tile, s - i);
    /* Per query tile: its score rows live in a scope, freed once its tasks completed. */
    const int64_t score_shape[2] = {si, t};
    rc = api->scope_begin(ctx);
    if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 2, score_shape, &scores);
    if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 2, score_shape, &probs);
    for (int64_t j = 0; !rc && j < t; j += tile) {
      const int64_t tj = min64(tile, t - j);
      const chiprt_param_t qk[4] = {in_p(tile2d(&q, i, si, 0, d)), in_p(tile2d(&kt, 0, d, j, tj)),
                                    out_p(tile2d(&scores, 0, si, j, tj)), u64_p(0)};
      rc = submit(api, ctx, FUNC_MATMUL, CHIPRT_CORE_AIC, qk, 4);
    }
    const chiprt_param_t sm[3] = {in_p(tile2d(&scores, 0, si, 0, t)),
                                  out_p(tile2d(&probs, 0, si, 0, t)),
                                  u64_p(chiprt_scalar_from_f32(scale))};
    if (!rc) rc = submit(api, ctx, FUNC_SOFTMAX, CHIPRT_CORE_AIV, sm, 3);
    for (int64_t j = 0; !rc && j < t; j += tile) {
      const int64_t tj = min64(tile, t - j);
      const chiprt_tensor_t o = tile2d(&out, i, si, 0, dv);
      const chiprt_param_t pv[4] = {in_p(tile2d(&probs, 0, si, j, tj)),
                                    in_p(tile2d(&v, j, tj, 0, dv)), j == 0 ? out_p(o) : inout_p(o),
                                    u64_p(j == 0 ? 0 : 1)};
      rc = submit(api, ctx, FUNC_MATMUL, CHIPRT_CORE_AIC, pv, 4);
    }
    if (!rc) rc = api->scope_end(ctx);
  }
  return rc;
}

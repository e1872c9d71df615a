/* Matmul example: out = relu(a @ b + bias) for float32 a [M, K], b [K, N], bias [N].
 * Tiled by `tile` (scalar, default 64): for each output tile, a chain of AIC matmul tasks over
 * the K tiles accumulates into an intermediate, then one AIV epilogue task adds the bias (a
 * row-broadcast view, row stride 0) and applies relu. Kernels: 1 matmul (AIC), 2 bias_relu
 * (AIV). Tiles of different output blocks are independent; the runtime finds that from the
 * views alone. */
#include "../orch_util.h"

enum { FUNC_MATMUL = 1, FUNC_BIAS_RELU = 2 };

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t a, b, bias, acc, out;
  if (api->get_tensor_arg(ctx, "a", &a) || api->get_tensor_arg(ctx, "b", &b) ||
      api->get_tensor_arg(ctx, "bias", &bias)) {
    return 1;
  }
  if (a.ndim != 2 || b.ndim != 2 || bias.ndim != 1 || a.shape[1] != b.shape[0] ||
      bias.shape[0] != b.shape[1]) {
    return 2;
  }
  const int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  const int64_t tile = int_arg(api, ctx, "tile", 64);
  const int64_t shape[2] = {m, n};
  int32_t rc = api->alloc_output(ctx, "out", CHIPRT_DTYPE_F32, 2, shape, &out);
  if (!rc) rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 2, shape, &acc);
  /* bias as an [M, N] view whose rows all alias the same N elements */
  chiprt_tensor_t bias2 = bias;
  bias2.ndim = 2;
  bias2.shape[0] = m;
  bias2.shape[1] = n;
  bias2.strides[0] = 0;
  bias2.strides[1] = bias.strides[0];
  for (int64_t i = 0; !rc && i < m; i += tile) {
    const int64_t mi = min64(tile, m - i);
    for (int64_t j = 0; !rc && j < n; j += tile) {
      const int64_t nj = min64(tile, n - j);
      const chiprt_tensor_t c = tile2d(&acc, i, mi, j, nj);
      for (int64_t p = 0; !rc && p < k; p += tile) {
        const int64_t kp = min64(tile, k - p);
        const chiprt_param_t mm[4] = {in_p(tile2d(&a, i, mi, p, kp)),
                                      in_p(tile2d(&b, p, kp, j, nj)),
                                      p == 0 ? out_p(c) : inout_p(c), u64_p(p == 0 ? 0 : 1)};
        rc = submit(api, ctx, FUNC_MATMUL, CHIPRT_CORE_AIC, mm, 4);
      }
      const chiprt_param_t epi[3] = {in_p(c), in_p(tile2d(&bias2, i, mi, j, nj)),
                                     out_p(tile2d(&out, i, mi, j, nj))};
      if (!rc) rc = submit(api, ctx, FUNC_BIAS_RELU, CHIPRT_CORE_AIV, epi, 3);
    }
  }
  return rc;
}

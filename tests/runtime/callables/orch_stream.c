/* Stream orchestration for the ring/heap bound test: `iterations` (scalar) times, in a scope,
 * an intermediate tmp = (i % 7) * x is produced and accumulated into acc += tmp; two tasks per
 * iteration plus one that zeroes acc. With x = 1 the result is exactly sum(i % 7). Tensor x is
 * [1, n]; output acc the same. Kernels: 2 dag_op (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"
#include "random_dag.h"
#include "stream_op.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, acc, tmp;
  double iterations = 1;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  api->get_scalar_arg(ctx, "iterations", &iterations);
  int32_t rc = api->alloc_output(ctx, "acc", x.dtype, x.ndim, x.shape, &acc);
  if (!rc) rc = op(api, ctx, x, CHIPRT_PARAM_OUTPUT, acc, 0, 0);
  for (uint64_t i = 0; !rc && i < (uint64_t)iterations; ++i) {
    rc = api->scope_begin(ctx);
    if (!rc) rc = api->alloc_tensor(ctx, x.dtype, x.ndim, x.shape, &tmp);
    if (!rc) rc = op(api, ctx, x, CHIPRT_PARAM_OUTPUT, tmp, 0, (float)(i % 7));
    if (!rc) rc = op(api, ctx, tmp, CHIPRT_PARAM_INOUT, acc, 1, 1);
    if (!rc) rc = api->scope_end(ctx);
  }
  return rc;
}

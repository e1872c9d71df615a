/* Many-intermediates orchestration for the heap tests: in one scope, `count` (scalar, default
 * 4000) intermediates shaped like x are allocated and all stay live until the scope ends; each
 * is written, tmp_i = (i % 7) * x, and accumulated, acc += tmp_i. With x = 1 the result is
 * exactly sum(i % 7); 2 * count + 1 tasks. Tensor x is [1, n]; output acc the same. Kernels:
 * 2 dag_op (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"
#include "stream_op.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, acc, tmp;
  double count = 4000;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  api->get_scalar_arg(ctx, "count", &count);
  int32_t rc = api->alloc_output(ctx, "acc", x.dtype, x.ndim, x.shape, &acc);
  if (!rc) rc = op(api, ctx, x, CHIPRT_PARAM_OUTPUT, acc, 0, 0);
  if (!rc) rc = api->scope_begin(ctx);
  for (uint64_t i = 0; !rc && i < (uint64_t)count; ++i) {
    rc = api->alloc_tensor(ctx, x.dtype, x.ndim, x.shape, &tmp);
    if (!rc) rc = op(api, ctx, x, CHIPRT_PARAM_OUTPUT, tmp, 0, (float)(i % 7));
    if (!rc) rc = op(api, ctx, tmp, CHIPRT_PARAM_INOUT, acc, 1, 1);
  }
  if (!rc) rc = api->scope_end(ctx);
  return rc;
}

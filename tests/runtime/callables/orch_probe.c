/* Probe orchestration for failure and lifetime tests. Tensor x is 1-D float32 [n]; output out.
 * Scalar `mode`:
 *   0  out = x + 1 in `tasks` chunks (default 4), each sleeping `sleep_ms` (default 0), the
 *      first `first_sleep_ms` (default `sleep_ms`)
 *   1  same, but chunk `fail_at` fails (kernel returns 7)
 *   2  allocates an intermediate of `bytes` bytes, then does mode 0
 *   3  submits func_id `func` (default 99), which the image does not have
 *   4  allocates intermediates of `bytes` bytes in the outer scope until the heap refuses
 * Kernels: 1 probe (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static double scalar(const chiprt_orch_api_t* api, void* ctx, const char* name, double fallback) {
  double v = fallback;
  api->get_scalar_arg(ctx, name, &v);
  return v;
}

static int32_t chunks(const chiprt_orch_api_t* api, void* ctx, chiprt_tensor_t x,
                      chiprt_tensor_t out, int64_t tasks, int64_t fail_at, uint64_t sleep_ms,
                      uint64_t first_sleep_ms, uint32_t func_id) {
  const int64_t n = x.shape[0];
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t begin = n * t / tasks, end = n * (t + 1) / tasks;
    if (end <= begin) continue;
    chiprt_param_t p[4] = {{0}};
    p[0].kind = CHIPRT_PARAM_INPUT;
    p[0].tensor = x;
    p[0].tensor.offset = (uint64_t)begin;
    p[0].tensor.shape[0] = end - begin;
    p[1].kind = CHIPRT_PARAM_OUTPUT;
    p[1].tensor = out;
    p[1].tensor.offset = (uint64_t)begin;
    p[1].tensor.shape[0] = end - begin;
    p[2].kind = p[3].kind = CHIPRT_PARAM_SCALAR;
    p[2].scalar = t == fail_at;
    p[3].scalar = t == 0 ? first_sleep_ms : sleep_ms;
    chiprt_task_t task = {func_id, CHIPRT_CORE_AIV, 4, 0, p};
    const int32_t rc = api->submit_task(ctx, &task);
    if (rc) return rc;
  }
  return 0;
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, out, tmp;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1) return 1;
  const int mode = (int)scalar(api, ctx, "mode", 0);
  const int64_t tasks = (int64_t)scalar(api, ctx, "tasks", 4);
  const uint64_t sleep_ms = (uint64_t)scalar(api, ctx, "sleep_ms", 0);
  const uint64_t first = (uint64_t)scalar(api, ctx, "first_sleep_ms", (double)sleep_ms);
  const int64_t bytes = (int64_t)scalar(api, ctx, "bytes", 64);
  int32_t rc = api->alloc_output(ctx, "out", x.dtype, 1, x.shape, &out);
  if (rc) return rc;
  const int64_t elems[1] = {bytes};
  switch (mode) {
    case 1:
      return chunks(api, ctx, x, out, tasks, (int64_t)scalar(api, ctx, "fail_at", 0), sleep_ms, first, 1);
    case 2:
      rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_U8, 1, elems, &tmp);
      return rc ? rc : chunks(api, ctx, x, out, tasks, -1, sleep_ms, first, 1);
    case 3:
      return chunks(api, ctx, x, out, tasks, -1, sleep_ms, first, (uint32_t)scalar(api, ctx, "func", 99));
    case 4:
      for (;;) {
        rc = api->alloc_tensor(ctx, CHIPRT_DTYPE_U8, 1, elems, &tmp);
        if (rc) return rc;
      }
    default:
      return chunks(api, ctx, x, out, tasks, -1, sleep_ms, first, 1);
  }
}

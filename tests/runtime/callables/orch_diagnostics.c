/* Diagnostics test callable (kernel_diagnostics.c, func_ids 1-3). Scalar `case`:
 * 0, a diamond: A (func 1) x -> t1; B (func 2) t1 -> t2; C (func 2) t1 -> t3; D (func 3) t2, t3
 *    -> y. Edges A->B, A->C, B->D, C->D, all read-after-write.
 * 1, one edge of each kind: task 0 writes a; task 1 reads a, writes b (RAW on 0); task 2 writes
 *    a (WAW on 0, WAR on 1); task 3 reads a and b, writes y (RAW on 2 and on 1). With scalar
 *    `sync` = 1, the orchestration calls sync() after task 1.
 * Scalar `spin`: microseconds of busy work per task (default 0). Scalar `fail` = 1: every task
 * gets a second scalar, which makes the kernel fail (so a run that launches them fails).
 * x: f32 tensor; y like x. */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static chiprt_param_t in(chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_INPUT;
  p.tensor = t;
  return p;
}
static chiprt_param_t out(chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_OUTPUT;
  p.tensor = t;
  return p;
}
static chiprt_param_t spin_param(uint64_t us) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_SCALAR;
  p.scalar = us;
  return p;
}
static int failing = 0;
static int32_t task(const chiprt_orch_api_t* api, void* ctx, uint32_t func, chiprt_param_t* p,
                    uint32_t n) {
  chiprt_param_t params[8];
  for (uint32_t i = 0; i < n; ++i) params[i] = p[i];
  if (failing) params[n++] = spin_param(0);
  chiprt_task_t t = {func, CHIPRT_CORE_AIV, n, 0, params};
  return api->submit_task(ctx, &t);
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  double which = 0, spin = 0, sync = 0, fail = 0;
  api->get_scalar_arg(ctx, "fail", &fail);
  failing = fail != 0;
  api->get_scalar_arg(ctx, "case", &which);
  api->get_scalar_arg(ctx, "spin", &spin);
  api->get_scalar_arg(ctx, "sync", &sync);
  chiprt_tensor_t x, y, t1, t2, t3;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  if (api->alloc_output(ctx, "y", x.dtype, x.ndim, x.shape, &y)) return 2;
  if (api->alloc_tensor(ctx, x.dtype, x.ndim, x.shape, &t1) ||
      api->alloc_tensor(ctx, x.dtype, x.ndim, x.shape, &t2) ||
      api->alloc_tensor(ctx, x.dtype, x.ndim, x.shape, &t3)) {
    return 3;
  }
  const chiprt_param_t s = spin_param((uint64_t)spin);
  if (which == 0) {
    chiprt_param_t a[3] = {in(x), out(t1), s}, b[3] = {in(t1), out(t2), s},
                   c[3] = {in(t1), out(t3), s}, d[4] = {in(t2), in(t3), out(y), s};
    if (task(api, ctx, 1, a, 3) || task(api, ctx, 2, b, 3) || task(api, ctx, 2, c, 3) ||
        task(api, ctx, 3, d, 4)) {
      return 4;
    }
    return 0;
  }
  chiprt_param_t p0[3] = {in(x), out(t1), s}, p1[3] = {in(t1), out(t2), s}, p2[3] = {in(x), out(t1), s},
                 p3[4] = {in(t1), in(t2), out(y), s};
  if (task(api, ctx, 1, p0, 3) || task(api, ctx, 2, p1, 3)) return 4;
  if (sync != 0 && api->sync(ctx)) return 5;
  if (task(api, ctx, 1, p2, 3) || task(api, ctx, 3, p3, 4)) return 4;
  return 0;
}

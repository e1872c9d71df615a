/* Rendezvous orchestration for the concurrent-run tests: two runs of it, sides 0 and 1, can
 * only both succeed while both are in flight at once. Tensor x is 1-D float32 [n]; device input
 * flags is int32 [4], shared by the two runs; outputs out (like x) and met (float32 [1]).
 * Scalars: side, round, work_ms (default 20), wait_ms (default 20000), helper_core_from
 * (default 0), helper_wait_ms (default 2000); see kernel_rendezvous.c.
 * Three tasks of kernel 1 (rendezvous, AIV) around one intermediate tmp (so that the run needs
 * an intermediate heap on both runtimes):
 *   0  work (work_ms): marks this run started in flags, then tmp = x + 1
 *   1  copy: out = tmp
 *   2  rendezvous on flags, after task 0: met = 1
 * Task 1 is submitted before task 2, so a thread completing task 0 runs task 1 next (hbg lists
 * successors in task order) and hands task 2 to the pool. */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static double scalar(const chiprt_orch_api_t* api, void* ctx, const char* name, double fallback) {
  double v = fallback;
  api->get_scalar_arg(ctx, name, &v);
  return v;
}

static chiprt_param_t tensor_param(uint32_t kind, chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = t;
  return p;
}

static chiprt_param_t scalar_param(uint64_t value) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_SCALAR;
  p.scalar = value;
  return p;
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, flags, out, met, tmp;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1) return 1;
  if (api->get_tensor_arg(ctx, "flags", &flags) || flags.ndim != 1) return 1;
  const int64_t one[1] = {1};
  int32_t rc = api->alloc_output(ctx, "out", x.dtype, 1, x.shape, &out);
  if (!rc) rc = api->alloc_output(ctx, "met", CHIPRT_DTYPE_F32, 1, one, &met);
  if (!rc) rc = api->alloc_tensor(ctx, x.dtype, 1, x.shape, &tmp);
  if (rc) return rc;

  const uint64_t side = (uint64_t)scalar(api, ctx, "side", 0);
  const uint64_t round = (uint64_t)scalar(api, ctx, "round", 1);
  chiprt_param_t work[7] = {tensor_param(CHIPRT_PARAM_INPUT, x),
                            tensor_param(CHIPRT_PARAM_OUTPUT, tmp),
                            tensor_param(CHIPRT_PARAM_INOUT, flags),
                            scalar_param(0),
                            scalar_param((uint64_t)scalar(api, ctx, "work_ms", 20)),
                            scalar_param(side),
                            scalar_param(round)};
  chiprt_task_t task = {1, CHIPRT_CORE_AIV, 7, 0, work};
  if ((rc = api->submit_task(ctx, &task))) return rc;

  chiprt_param_t copy[3] = {tensor_param(CHIPRT_PARAM_INPUT, tmp),
                            tensor_param(CHIPRT_PARAM_OUTPUT, out), scalar_param(1)};
  task.param_count = 3;
  task.params = copy;
  if ((rc = api->submit_task(ctx, &task))) return rc;

  chiprt_param_t meet[9] = {tensor_param(CHIPRT_PARAM_INPUT, tmp),
                            tensor_param(CHIPRT_PARAM_INOUT, flags),
                            tensor_param(CHIPRT_PARAM_OUTPUT, met),
                            scalar_param(2),
                            scalar_param(side),
                            scalar_param(round),
                            scalar_param((uint64_t)scalar(api, ctx, "wait_ms", 20000)),
                            scalar_param((uint64_t)scalar(api, ctx, "helper_core_from", 0)),
                            scalar_param((uint64_t)scalar(api, ctx, "helper_wait_ms", 2000))};
  task.param_count = 9;
  task.params = meet;
  return api->submit_task(ctx, &task);
}

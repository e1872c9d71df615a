/* Property-test orchestration: copies inputs x0, y0 into outputs x, y (64 x 64 float32), then
 * submits dag_task_count(seed) random tasks (random_dag.h) on them. Scalars: seed, and
 * optionally tasks (overrides the count). Kernels: 1 dag_op (AIC), 2 dag_op (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"
#include "random_dag.h"

static chiprt_tensor_t view_of(const chiprt_tensor_t* base, const int64_t shape[2],
                               const dag_ref* r) {
  chiprt_tensor_t v = *base;
  v.offset = r->offset;
  v.ndim = 2;
  v.shape[0] = shape[0];
  v.shape[1] = shape[1];
  v.strides[0] = r->strides[0];
  v.strides[1] = r->strides[1];
  v.shape[2] = v.shape[3] = v.strides[2] = v.strides[3] = 0;
  return v;
}

static chiprt_param_t tensor_p(uint32_t kind, chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = t;
  return p;
}

static chiprt_param_t scalar_p(uint64_t v) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_SCALAR;
  p.scalar = v;
  return p;
}

static int32_t submit_op(const chiprt_orch_api_t* api, void* ctx, uint32_t core, int nin, int inout,
                         const chiprt_tensor_t* in, chiprt_tensor_t out, const float* coef) {
  chiprt_param_t p[8];
  uint32_t n = 0;
  for (int k = 0; k < nin; ++k) p[n++] = tensor_p(CHIPRT_PARAM_INPUT, in[k]);
  p[n++] = tensor_p(inout ? CHIPRT_PARAM_INOUT : CHIPRT_PARAM_OUTPUT, out);
  for (int k = 0; k < 4; ++k) p[n++] = scalar_p(chiprt_scalar_from_f32(coef[k]));
  chiprt_task_t task = {core == CHIPRT_CORE_AIC ? 1u : 2u, core, n, 0, p};
  return api->submit_task(ctx, &task);
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x0, y0, t[2];
  double seed = 1, count = 0;
  if (api->get_tensor_arg(ctx, "x0", &x0) || api->get_tensor_arg(ctx, "y0", &y0)) return 1;
  api->get_scalar_arg(ctx, "seed", &seed);
  const uint64_t s0 = (uint64_t)seed;
  uint32_t tasks = dag_task_count(s0);
  if (api->get_scalar_arg(ctx, "tasks", &count) == CHIPRT_ORCH_OK) tasks = (uint32_t)count;
  const int64_t shape[2] = {DAG_SIDE, DAG_SIDE};
  int32_t rc = api->alloc_output(ctx, "x", CHIPRT_DTYPE_F32, 2, shape, &t[0]);
  if (!rc) rc = api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 2, shape, &t[1]);
  const float copy[4] = {0, 1, 0, 0};
  if (!rc) rc = submit_op(api, ctx, CHIPRT_CORE_AIV, 1, 0, &x0, t[0], copy);
  if (!rc) rc = submit_op(api, ctx, CHIPRT_CORE_AIC, 1, 0, &y0, t[1], copy);
  uint64_t rng = s0 * 0x2545F4914F6CDD1Dull + 7;
  for (uint32_t i = 0; !rc && i < tasks; ++i) {
    dag_task d;
    dag_make_task(&rng, &d);
    chiprt_tensor_t in[2];
    for (int k = 0; k < d.nin; ++k) in[k] = view_of(&t[d.in[k].tensor], d.shape, &d.in[k]);
    rc = submit_op(api, ctx, d.core, d.nin, d.inout, in, view_of(&t[d.out.tensor], d.shape, &d.out),
                   d.coef);
  }
  return rc;
}

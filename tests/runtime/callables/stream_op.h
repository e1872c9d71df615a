/* The one task shape of the stream orchestrations (orch_stream, orch_many): kernel 2 (dag_op,
 * AIV) with input `in` and output or inout `out`: out = (inout ? a * out : 0) + b * in. */
#ifndef CHIPRT_TESTS_STREAM_OP_H_
#define CHIPRT_TESTS_STREAM_OP_H_

#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static inline chiprt_param_t tensor_p(uint32_t kind, chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = t;
  return p;
}

static inline int32_t op(const chiprt_orch_api_t* api, void* ctx, chiprt_tensor_t in,
                         uint32_t out_kind, chiprt_tensor_t out, float a, float b) {
  chiprt_param_t p[6] = {tensor_p(CHIPRT_PARAM_INPUT, in), tensor_p(out_kind, out)};
  const float coef[4] = {a, b, 0, 0};
  for (int k = 0; k < 4; ++k) {
    p[2 + k].kind = CHIPRT_PARAM_SCALAR;
    p[2 + k].scalar = chiprt_scalar_from_f32(coef[k]);
  }
  chiprt_task_t task = {2, CHIPRT_CORE_AIV, 6, 0, p};
  return api->submit_task(ctx, &task);
}

#endif /* CHIPRT_TESTS_STREAM_OP_H_ */

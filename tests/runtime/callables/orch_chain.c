/* Chain orchestration for the dependency-count tests: `tasks` (scalar, default 1) tasks update
 * one output in place, acc = 1 and then acc += 1 (inout) each, so acc ends at `tasks`. Every
 * task writes all of acc: each depends on exactly the one before it. Tensor x gives acc its
 * dtype and shape (float32). Kernels: 2 dag_op (AIV). */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"
#include "random_dag.h"

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t x, acc;
  double tasks = 1;
  if (api->get_tensor_arg(ctx, "x", &x)) return 1;
  api->get_scalar_arg(ctx, "tasks", &tasks);
  int32_t rc = api->alloc_output(ctx, "acc", x.dtype, x.ndim, x.shape, &acc);
  for (uint64_t i = 0; !rc && i < (uint64_t)tasks; ++i) {
    chiprt_param_t p[5] = {{0}};
    p[0].kind = i == 0 ? CHIPRT_PARAM_OUTPUT : CHIPRT_PARAM_INOUT;
    p[0].tensor = acc;
    const float coef[4] = {1, 0, 0, 1}; /* acc = 1 * acc + 1; an output ignores coef[0] */
    for (int k = 0; k < 4; ++k) {
      p[1 + k].kind = CHIPRT_PARAM_SCALAR;
      p[1 + k].scalar = chiprt_scalar_from_f32(coef[k]);
    }
    chiprt_task_t task = {2, CHIPRT_CORE_AIV, 5, 0, p};
    rc = api->submit_task(ctx, &task);
  }
  return rc;
}

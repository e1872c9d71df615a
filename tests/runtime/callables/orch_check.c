/* The checks' test callable: input x [64] f32, scalar `bug` choosing one of the bug classes the
 * checks must find (0: none). Kernels in kernel_check.c.
 * 0 clean:        y0 = 2x, y1 = 2x (two tasks, two outputs of 64)
 * 1 overrun:      as 0, but y0's task writes 192 floats past the end of y0
 * 2 wide write:   y [128]: task 0 declares y[0:64] and writes all of y; task 1 fills y[64:128]
 * 3 wide read:    intermediate i [128]: task 0 fills i[0:64], task 1 fills i[64:128]; task 2
 *                 declares i[0:64] as its input, reads all of i, writes y [64]
 * 4 half written: y [128], one task fills y[0:64]
 * 5 unwritten:    intermediate i [64] that no task writes; y = 2i
 * 6 far read:     as 0, but y0's task also reads the float 1 MiB past the start of x
 * 7 far write:    as 0, but y0's task also writes the float 1 MiB past the start of y0 */
#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

static chiprt_tensor_t half(chiprt_tensor_t t, int second) {
  t.shape[0] /= 2;
  if (second) t.offset += (uint64_t)t.shape[0];
  return t;
}

static int submit(const chiprt_orch_api_t* api, void* ctx, uint32_t func, chiprt_param_t* p,
                  uint32_t n) {
  chiprt_task_t task = {func, CHIPRT_CORE_AIV, n, 0, p};
  return api->submit_task(ctx, &task);
}

static int fill(const chiprt_orch_api_t* api, void* ctx, chiprt_tensor_t out, float value) {
  chiprt_param_t p[2] = {{CHIPRT_PARAM_OUTPUT, 0, out, 0},
                         {CHIPRT_PARAM_SCALAR, 0, {0}, chiprt_scalar_from_f32(value)}};
  return submit(api, ctx, 5, p, 2);
}

static int scale(const chiprt_orch_api_t* api, void* ctx, uint32_t func, chiprt_tensor_t in,
                 chiprt_tensor_t out) {
  chiprt_param_t p[2] = {{CHIPRT_PARAM_INPUT, 0, in, 0}, {CHIPRT_PARAM_OUTPUT, 0, out, 0}};
  return submit(api, ctx, func, p, 2);
}

int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx) {
  double bug = 0;
  api->get_scalar_arg(ctx, "bug", &bug);
  chiprt_tensor_t x, y, y1, i;
  if (api->get_tensor_arg(ctx, "x", &x) || x.ndim != 1 || x.shape[0] != 64) return 1;
  const int64_t n64[1] = {64}, n128[1] = {128};
  switch ((int)bug) {
    case 0:
    case 1:
      if (api->alloc_output(ctx, "y0", CHIPRT_DTYPE_F32, 1, n64, &y) ||
          api->alloc_output(ctx, "y1", CHIPRT_DTYPE_F32, 1, n64, &y1)) {
        return 2;
      }
      return scale(api, ctx, bug == 1 ? 2 : 1, x, y) || scale(api, ctx, 1, x, y1);
    case 6:
    case 7:
      if (api->alloc_output(ctx, "y0", CHIPRT_DTYPE_F32, 1, n64, &y) ||
          api->alloc_output(ctx, "y1", CHIPRT_DTYPE_F32, 1, n64, &y1)) {
        return 2;
      }
      return scale(api, ctx, (uint32_t)bug, x, y) || scale(api, ctx, 1, x, y1);
    case 2: {
      if (api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 1, n128, &y)) return 2;
      chiprt_param_t p[1] = {{CHIPRT_PARAM_OUTPUT, 0, half(y, 0), 0}};
      return submit(api, ctx, 3, p, 1) || fill(api, ctx, half(y, 1), 2.0f);
    }
    case 3: {
      if (api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 1, n128, &i) ||
          api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 1, n64, &y)) {
        return 2;
      }
      if (fill(api, ctx, half(i, 0), 1.0f) || fill(api, ctx, half(i, 1), 2.0f)) return 3;
      chiprt_param_t p[2] = {{CHIPRT_PARAM_INPUT, 0, half(i, 0), 0},
                             {CHIPRT_PARAM_OUTPUT, 0, y, 0}};
      return submit(api, ctx, 4, p, 2);
    }
    case 4:
      if (api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 1, n128, &y)) return 2;
      return fill(api, ctx, half(y, 0), 1.0f);
    case 5:
      if (api->alloc_tensor(ctx, CHIPRT_DTYPE_F32, 1, n64, &i) ||
          api->alloc_output(ctx, "y", CHIPRT_DTYPE_F32, 1, n64, &y)) {
        return 2;
      }
      return scale(api, ctx, 1, i, y);
    default:
      return 4;
  }
}

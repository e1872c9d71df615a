/* Diagnostics test kernel: busy-waits for its last parameter's microseconds (a scalar), then
 * writes its one output (the last tensor) as the element-wise sum of its inputs plus 1. */
#include <time.h>

#include "chiprt/abi/kernel.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count < 2 || args->scalar_count != 1) return 1;
  const double until = now_us() + (double)args->scalars[0];
  while (now_us() < until) {
  }
  const chiprt_kernel_tensor_t* o = &args->tensors[args->tensor_count - 1];
  int64_t n = 1;
  for (uint32_t d = 0; d < o->ndim; ++d) n *= o->shape[d];
  float* dst = (float*)o->data;
  for (int64_t i = 0; i < n; ++i) {
    float sum = 1.0f;
    for (uint32_t k = 0; k + 1 < args->tensor_count; ++k) sum += ((const float*)args->tensors[k].data)[i];
    dst[i] = sum;
  }
  return 0;
}

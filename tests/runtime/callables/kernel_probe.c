/* Probe kernel: out = x + 1 over flat float32 views; scalars: fail (non-zero: return 7 without
 * writing), sleep_ms (sleep first). */
#include <time.h>

#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count != 2 || args->scalar_count != 2) return 1;
  if (args->scalars[1] != 0) {
    struct timespec ts = {(time_t)(args->scalars[1] / 1000),
                          (long)(args->scalars[1] % 1000) * 1000000L};
    nanosleep(&ts, 0);
  }
  if (args->scalars[0] != 0) return 7;
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* out = &args->tensors[1];
  const float* px = (const float*)x->data;
  float* po = (float*)out->data;
  for (int64_t i = 0; i < out->shape[0]; ++i)
    po[i * out->strides[0]] = px[i * x->strides[0]] + 1.0f;
  return 0;
}

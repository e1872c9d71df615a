/* Kernel for the checks tests, on a [1, C] f32 row: out = 2 * in; func 2 then writes 32 more
 * floats past the row. */
#include <stdint.h>

#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* a) {
  const float* in = (const float*)a->tensors[0].data;
  float* out = (float*)a->tensors[1].data;
  const int64_t c = a->tensors[0].shape[1];
  for (int64_t i = 0; i < c; ++i) {
    out[i * a->tensors[1].strides[1]] = 2.0f * in[i * a->tensors[0].strides[1]];
  }
  if (a->func_id == 2) {
    for (int64_t i = c; i < c + 32; ++i) out[i] = -1.0f;
  }
  return 0;
}

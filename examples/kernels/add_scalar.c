/* AIV kernel: out = x + s for a float32 scalar s. Tensors: x, out; scalars: s (f32 bits). */
#include "strided.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (!same_elements(args, 2) || args->scalar_count != 1) return 1;
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* out = &args->tensors[1];
  const float s = chiprt_scalar_to_f32(args->scalars[0]);
  const int64_t n = view_elements(out);
  for (int64_t i = 0; i < n; ++i) F32_AT(out, i) = F32_AT(x, i) + s;
  return 0;
}

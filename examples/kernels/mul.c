/* AIV kernel: out = x * y, elementwise over float32 views. Tensors: x, y, out. */
#include "strided.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (!same_elements(args, 3)) return 1;
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* y = &args->tensors[1];
  const chiprt_kernel_tensor_t* out = &args->tensors[2];
  const int64_t n = view_elements(out);
  for (int64_t i = 0; i < n; ++i) F32_AT(out, i) = F32_AT(x, i) * F32_AT(y, i);
  return 0;
}

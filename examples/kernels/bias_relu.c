/* AIV kernel (matmul epilogue): out = max(x + bias, 0) elementwise over float32 views; bias is
 * usually a row broadcast (row stride 0). Tensors: x, bias, out. */
#include "strided.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (!same_elements(args, 3)) return 1;
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* bias = &args->tensors[1];
  const chiprt_kernel_tensor_t* out = &args->tensors[2];
  const int64_t n = view_elements(out);
  for (int64_t i = 0; i < n; ++i) {
    const float v = F32_AT(x, i) + F32_AT(bias, i);
    F32_AT(out, i) = v > 0.0f ? v : 0.0f;
  }
  return 0;
}

/* y = 2 * x over 1-D float32 views: tensors x (input), y (output). */
#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* y = &args->tensors[1];
  for (int64_t i = 0; i < x->shape[0]; ++i) {
    ((float*)y->data)[i * y->strides[0]] = 2.0f * ((const float*)x->data)[i * x->strides[0]];
  }
  return 0;
}

/* AIC kernel: C (+)= A @ B on 2-D float32 views. Tensors: A [M,K], B [K,N], C [M,N];
 * scalars: accumulate (0 overwrites C, 1 adds to it). */
#include "strided.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count != 3 || args->scalar_count != 1) return 1;
  const chiprt_kernel_tensor_t* a = &args->tensors[0];
  const chiprt_kernel_tensor_t* b = &args->tensors[1];
  const chiprt_kernel_tensor_t* c = &args->tensors[2];
  if (a->ndim != 2 || b->ndim != 2 || c->ndim != 2) return 1;
  const int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
  if (b->shape[0] != k || c->shape[0] != m || c->shape[1] != n) return 1;
  const int accumulate = args->scalars[0] != 0;
  const float* pa = (const float*)a->data;
  const float* pb = (const float*)b->data;
  float* pc = (float*)c->data;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float sum = accumulate ? pc[i * c->strides[0] + j * c->strides[1]] : 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        sum += pa[i * a->strides[0] + p * a->strides[1]] * pb[p * b->strides[0] + j * b->strides[1]];
      }
      pc[i * c->strides[0] + j * c->strides[1]] = sum;
    }
  }
  return 0;
}

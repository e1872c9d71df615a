/* AIV kernel: row softmax of a 2-D float32 view, out[i, :] = softmax(scale * x[i, :]).
 * Tensors: x [R, C], out [R, C]; scalars: scale (f32 bits). Numerically stable (subtracts
 * the row maximum before exponentiating). */
#include <math.h>

#include "strided.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count != 2 || args->scalar_count != 1) return 1;
  const chiprt_kernel_tensor_t* x = &args->tensors[0];
  const chiprt_kernel_tensor_t* out = &args->tensors[1];
  if (x->ndim != 2 || out->ndim != 2 || x->shape[0] != out->shape[0] ||
      x->shape[1] != out->shape[1] || x->dtype != CHIPRT_DTYPE_F32) {
    return 1;
  }
  const float scale = chiprt_scalar_to_f32(args->scalars[0]);
  const float* px = (const float*)x->data;
  float* po = (float*)out->data;
  for (int64_t i = 0; i < x->shape[0]; ++i) {
    const float* row = px + i * x->strides[0];
    float* orow = po + i * out->strides[0];
    float max = -INFINITY;
    for (int64_t j = 0; j < x->shape[1]; ++j) {
      const float v = scale * row[j * x->strides[1]];
      if (v > max) max = v;
    }
    float sum = 0.0f;
    for (int64_t j = 0; j < x->shape[1]; ++j) {
      const float e = expf(scale * row[j * x->strides[1]] - max);
      orow[j * out->strides[1]] = e;
      sum += e;
    }
    for (int64_t j = 0; j < x->shape[1]; ++j) orow[j * out->strides[1]] /= sum;
  }
  return 0;
}

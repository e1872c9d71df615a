/* Wavefront test kernel: on f32 2-D views, the INOUT tile becomes 0.5 * itself + each INPUT tile
 * (in parameter order) + 1, element by element. Any reordering of writes and reads of a tile
 * changes the result, so a run proves the dependencies it was given. Each call also spins for
 * about ten microseconds, so that tasks a broken scheduler wrongly lets overlap do overlap. */
#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"

static float* at(const chiprt_kernel_tensor_t* t, int64_t r, int64_t c) {
  return (float*)t->data + r * t->strides[0] + c * t->strides[1];
}

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  const chiprt_kernel_tensor_t* out = 0;
  for (uint32_t k = 0; k < args->tensor_count; ++k) {
    if (args->tensors[k].ndim != 2) return 1;
    if (args->tensors[k].kind == CHIPRT_PARAM_INOUT) out = &args->tensors[k];
  }
  if (out == 0) return 2;
  for (volatile int spin = 0; spin < 20000; ++spin) {
  }
  for (int64_t r = 0; r < out->shape[0]; ++r) {
    for (int64_t c = 0; c < out->shape[1]; ++c) {
      float acc = *at(out, r, c) * 0.5f;
      for (uint32_t k = 0; k < args->tensor_count; ++k) {
        if (&args->tensors[k] != out) acc += *at(&args->tensors[k], r, c);
      }
      *at(out, r, c) = acc + 1.0f;
    }
  }
  return 0;
}

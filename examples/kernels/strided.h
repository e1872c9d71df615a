/* Walks the elements of up to CHIPRT_MAX_DIMS-dimensional strided views in lockstep. */
#ifndef CHIPRT_EXAMPLES_STRIDED_H_
#define CHIPRT_EXAMPLES_STRIDED_H_

#include <stdint.h>

#include "chiprt/abi/kernel.h"

/* Element count of a view. */
static inline int64_t view_elements(const chiprt_kernel_tensor_t* t) {
  int64_t n = 1;
  for (uint32_t d = 0; d < t->ndim; ++d) n *= t->shape[d];
  return n;
}

/* Offset (in elements) of the i-th element of a view in row-major order of its shape. */
static inline int64_t view_offset(const chiprt_kernel_tensor_t* t, int64_t i) {
  if (t->ndim == 1) return i * t->strides[0]; /* the common case, without divisions */
  int64_t offset = 0;
  for (int d = (int)t->ndim - 1; d >= 0; --d) {
    offset += (i % t->shape[d]) * t->strides[d];
    i /= t->shape[d];
  }
  return offset;
}

static inline int same_elements(const chiprt_kernel_args_t* args, uint32_t tensors) {
  if (args->tensor_count != tensors) return 0;
  for (uint32_t i = 1; i < tensors; ++i) {
    if (view_elements(&args->tensors[i]) != view_elements(&args->tensors[0])) return 0;
    if (args->tensors[i].dtype != CHIPRT_DTYPE_F32) return 0;
  }
  return args->tensors[0].dtype == CHIPRT_DTYPE_F32;
}

#define F32_AT(t, i) (((float*)(t)->data)[view_offset((t), (i))])

#endif

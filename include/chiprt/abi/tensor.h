/* chiprt tensor views and scalars shared by the orchestration and kernel ABIs, version 1.
 * Self-contained C header. */
#ifndef CHIPRT_ABI_TENSOR_H_
#define CHIPRT_ABI_TENSOR_H_

#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHIPRT_MAX_DIMS 4u

typedef enum chiprt_dtype {
  CHIPRT_DTYPE_F32 = 0,
  CHIPRT_DTYPE_I32 = 1,
  CHIPRT_DTYPE_F16 = 2,
  CHIPRT_DTYPE_I64 = 3,
  CHIPRT_DTYPE_U8 = 4,
} chiprt_dtype_t;

static inline uint32_t chiprt_dtype_size(uint32_t dtype) {
  switch (dtype) {
    case CHIPRT_DTYPE_F32: return 4;
    case CHIPRT_DTYPE_I32: return 4;
    case CHIPRT_DTYPE_F16: return 2;
    case CHIPRT_DTYPE_I64: return 8;
    case CHIPRT_DTYPE_U8: return 1;
    default: return 0;
  }
}

/* A strided view of a tensor. `base` is an opaque handle the runtime gave out (never an
 * address to dereference); element (i_0, ..., i_{ndim-1}) of the view is element
 * offset + sum(i_k * strides[k]) of the underlying tensor. Strides and offset count elements.
 * Unused dims are 0. */
typedef struct chiprt_tensor {
  uint64_t base;
  uint64_t offset;
  uint32_t dtype;
  uint32_t ndim;
  int64_t shape[CHIPRT_MAX_DIMS];
  int64_t strides[CHIPRT_MAX_DIMS];
} chiprt_tensor_t;

/* Scalars travel as 64 raw bits; these keep the bit casts in one place. */
static inline uint64_t chiprt_scalar_from_f32(float v) {
  uint32_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}
static inline float chiprt_scalar_to_f32(uint64_t s) {
  uint32_t b = (uint32_t)s;
  float v;
  memcpy(&v, &b, sizeof v);
  return v;
}
static inline uint64_t chiprt_scalar_from_f64(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}
static inline double chiprt_scalar_to_f64(uint64_t s) {
  double v;
  memcpy(&v, &s, sizeof v);
  return v;
}

#ifdef __cplusplus
}
#endif

#endif /* CHIPRT_ABI_TENSOR_H_ */

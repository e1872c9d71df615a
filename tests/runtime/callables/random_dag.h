/* Random task DAGs for the property test, shared by the test orchestration (C, on the chip)
 * and the sequential reference (C++, in the test): the same seed gives the same tasks.
 *
 * Two working tensors X and Y of 64 x 64 float32. Each task reads 0..2 random 2-D views and
 * writes (output) or updates (inout) one, all of the same shape, with views that overlap at
 * random: row-major tiles, transposed tiles and strided tiles of either tensor. One task in
 * four is a grid task: an 8 x 8 or 16 x 16 shape whose views are mostly tiles of the grid of
 * such tiles, so the same regions come back exactly and whole tiles rewrite earlier ones. */
#ifndef CHIPRT_TESTS_RANDOM_DAG_H_
#define CHIPRT_TESTS_RANDOM_DAG_H_

#include <stdint.h>

#include "chiprt/abi/tensor.h"

#define DAG_SIDE 64

typedef struct dag_view {
  float* data; /* element (0, 0) */
  int64_t shape[2];
  int64_t strides[2];
} dag_view;

/* out = coef[3] + (inout ? coef[0] * out : 0) + sum_k coef[1 + k] * in[k], element by element
 * in row-major order of the shape. */
static inline void dag_op(const dag_view* out, int inout, int nin, const dag_view* in,
                          const float* coef) {
  for (int64_t i = 0; i < out->shape[0]; ++i) {
    for (int64_t j = 0; j < out->shape[1]; ++j) {
      float* o = out->data + i * out->strides[0] + j * out->strides[1];
      float acc = coef[3];
      if (inout) acc += coef[0] * *o;
      for (int k = 0; k < nin; ++k) {
        acc += coef[1 + k] * in[k].data[i * in[k].strides[0] + j * in[k].strides[1]];
      }
      *o = acc;
    }
  }
}

typedef struct dag_ref {
  int tensor; /* 0: X, 1: Y */
  uint64_t offset;
  int64_t strides[2];
} dag_ref;

typedef struct dag_task {
  uint32_t core; /* chiprt_core_type_t */
  int nin;
  int inout;
  int64_t shape[2];
  dag_ref in[2];
  dag_ref out;
  float coef[4];
} dag_task;

static inline uint64_t dag_next(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static inline void dag_pick(uint64_t* rng, const int64_t shape[2], int grid, dag_ref* r) {
  r->tensor = (int)(dag_next(rng) % 2);
  if (grid && dag_next(rng) % 4 != 0) { /* a tile of the grid of shape-sized tiles */
    const int64_t row0 = shape[0] * (int64_t)(dag_next(rng) % (uint64_t)(DAG_SIDE / shape[0]));
    const int64_t col0 = shape[1] * (int64_t)(dag_next(rng) % (uint64_t)(DAG_SIDE / shape[1]));
    r->strides[0] = DAG_SIDE;
    r->strides[1] = 1;
    r->offset = (uint64_t)(row0 * DAG_SIDE + col0);
    return;
  }
  const int layout = (int)(dag_next(rng) % 3);
  int64_t rows_used = shape[0], cols_used = shape[1]; /* extent in tensor rows / cols */
  if (layout == 0) {                                  /* row-major tile */
    r->strides[0] = DAG_SIDE;
    r->strides[1] = 1;
  } else if (layout == 1) { /* transposed tile */
    r->strides[0] = 1;
    r->strides[1] = DAG_SIDE;
    rows_used = shape[1];
    cols_used = shape[0];
  } else { /* every other row and column */
    r->strides[0] = 2 * DAG_SIDE;
    r->strides[1] = 2;
    rows_used = 2 * shape[0] - 1;
    cols_used = 2 * shape[1] - 1;
  }
  const int64_t row0 = (int64_t)(dag_next(rng) % (uint64_t)(DAG_SIDE - rows_used + 1));
  const int64_t col0 = (int64_t)(dag_next(rng) % (uint64_t)(DAG_SIDE - cols_used + 1));
  r->offset = (uint64_t)(row0 * DAG_SIDE + col0);
}

static inline void dag_make_task(uint64_t* rng, dag_task* t) {
  static const float kCoef[] = {0.5f, 0.25f, -0.25f, 0.125f, -0.5f};
  t->core = (uint32_t)(dag_next(rng) % 2);
  t->nin = (int)(dag_next(rng) % 3);
  t->inout = (int)(dag_next(rng) % 2);
  const int grid = dag_next(rng) % 4 == 0;
  if (grid) {
    t->shape[0] = t->shape[1] = dag_next(rng) % 2 ? 16 : 8;
  } else {
    t->shape[0] = 1 + (int64_t)(dag_next(rng) % 16);
    t->shape[1] = 1 + (int64_t)(dag_next(rng) % 16);
  }
  for (int k = 0; k < t->nin; ++k) dag_pick(rng, t->shape, grid, &t->in[k]);
  dag_pick(rng, t->shape, grid, &t->out);
  for (int k = 0; k < 4; ++k) t->coef[k] = kCoef[dag_next(rng) % 5];
}

/* Task count for a seed: 1..2000. */
static inline uint32_t dag_task_count(uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  return 1 + (uint32_t)(dag_next(&s) % 2000);
}

#endif

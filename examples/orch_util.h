/* Small helpers shared by the example orchestrations: 2-D sub-views and task parameters. */
#ifndef CHIPRT_EXAMPLES_ORCH_UTIL_H_
#define CHIPRT_EXAMPLES_ORCH_UTIL_H_

#include "chiprt/abi/image_format.h"
#include "chiprt/abi/orchestration.h"

/* Rows [r, r + nr) and columns [c, c + nc) of a 2-D view. */
static inline chiprt_tensor_t tile2d(const chiprt_tensor_t* t, int64_t r, int64_t nr, int64_t c,
                                     int64_t nc) {
  chiprt_tensor_t v = *t;
  v.offset = t->offset + (uint64_t)(r * t->strides[0] + c * t->strides[1]);
  v.shape[0] = nr;
  v.shape[1] = nc;
  return v;
}

/* The transpose of a 2-D view (no data moves: strides swap). */
static inline chiprt_tensor_t transpose2d(chiprt_tensor_t t) {
  int64_t s = t.shape[0];
  t.shape[0] = t.shape[1];
  t.shape[1] = s;
  s = t.strides[0];
  t.strides[0] = t.strides[1];
  t.strides[1] = s;
  return t;
}

static inline chiprt_param_t tensor_p(uint32_t kind, chiprt_tensor_t t) {
  chiprt_param_t p = {0};
  p.kind = kind;
  p.tensor = t;
  return p;
}
static inline chiprt_param_t in_p(chiprt_tensor_t t) {
  return tensor_p(CHIPRT_PARAM_INPUT, t);
}
static inline chiprt_param_t out_p(chiprt_tensor_t t) {
  return tensor_p(CHIPRT_PARAM_OUTPUT, t);
}
static inline chiprt_param_t inout_p(chiprt_tensor_t t) {
  return tensor_p(CHIPRT_PARAM_INOUT, t);
}
static inline chiprt_param_t u64_p(uint64_t v) {
  chiprt_param_t p = {0};
  p.kind = CHIPRT_PARAM_SCALAR;
  p.scalar = v;
  return p;
}

static inline int32_t submit(const chiprt_orch_api_t* api, void* ctx, uint32_t func_id,
                             uint32_t core, const chiprt_param_t* params, uint32_t count) {
  chiprt_task_t task = {func_id, core, count, 0, params};
  return api->submit_task(ctx, &task);
}

/* A positive integer scalar argument, or `fallback` when absent. */
static inline int64_t int_arg(const chiprt_orch_api_t* api, void* ctx, const char* name,
                              int64_t fallback) {
  double v = 0;
  if (api->get_scalar_arg(ctx, name, &v) != CHIPRT_ORCH_OK || v < 1) return fallback;
  return (int64_t)v;
}

/* The optional `marks` argument of the dispatch benchmarks: an i32 tensor [tasks, 2] or more
 * rows, one row per task in submission order, which the mark kernel fills. 0: absent; 1: given
 * and fit for `tasks`; -1: given but unfit. */
static inline int marks_arg(const chiprt_orch_api_t* api, void* ctx, int64_t tasks,
                            chiprt_tensor_t* marks) {
  if (api->get_tensor_arg(ctx, "marks", marks) != CHIPRT_ORCH_OK) return 0;
  if (marks->dtype != CHIPRT_DTYPE_I32 || marks->ndim != 2 || marks->shape[0] < tasks ||
      marks->shape[1] != 2) {
    return -1;
  }
  return 1;
}

/* Row `task` of `marks` as a 1-D view of two elements, updated in place by its task. */
static inline chiprt_param_t mark_p(const chiprt_tensor_t* marks, int64_t task) {
  chiprt_tensor_t v = *marks;
  v.offset = marks->offset + (uint64_t)(task * marks->strides[0]);
  v.ndim = 1;
  v.shape[0] = 2;
  v.shape[1] = 0;
  v.strides[0] = marks->strides[1];
  v.strides[1] = 0;
  return inout_p(v);
}

static inline int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

#endif

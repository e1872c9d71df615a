/* Rendezvous kernel for the concurrent-run tests. Scalar 0 selects the mode:
 *   0  work:       tensors in, out, flags; scalars ms, side, round. Stores `round` into
 *                  flags[2 + side] (this run has started on the device), sleeps `ms` (simulated
 *                  work: a task that outlasts the device channel thread's help budget), then
 *                  out = in + 1 over flat float32 views.
 *   1  copy:       out = in
 *   2  rendezvous: tensors tmp (input, unused but a dependency), flags, met (output, float32);
 *                  scalars side (0 or 1), round (>= 1), wait_ms (bound), helper_core_from (0:
 *                  none), helper_wait_ms. Stores `round` into flags[side], then spins until
 *                  flags[1 - side] holds `round` or more: both runs' rendezvous kernels must run
 *                  at once. Past the bound it returns 9; otherwise met = 1.
 *                  On a core index of helper_core_from or more (a thread that helps the pool,
 *                  which may be the device's channel thread) it first waits at most
 *                  helper_wait_ms for the other run to start (flags[2 + other side]): if that
 *                  run's launch is held back behind this very kernel, it never does, so the
 *                  kernel returns 11 (after signalling) rather than wait out its bound.
 * flags is int32 [4] in device memory, shared by the two runs and zero before the first round. */
#include <sched.h>
#include <time.h>

#include "chiprt/abi/kernel.h"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int32_t flat(const chiprt_kernel_args_t* args, float add) {
  const chiprt_kernel_tensor_t* in = &args->tensors[0];
  const chiprt_kernel_tensor_t* out = &args->tensors[1];
  const float* pi = (const float*)in->data;
  float* po = (float*)out->data;
  for (int64_t i = 0; i < out->shape[0]; ++i)
    po[i * out->strides[0]] = pi[i * in->strides[0]] + add;
  return 0;
}

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->scalar_count < 1) return 1;
  const uint64_t mode = args->scalars[0];
  if (mode == 0) {
    if (args->tensor_count != 3 || args->scalar_count != 4) return 1;
    const chiprt_kernel_tensor_t* flags = &args->tensors[2];
    if (flags->dtype != CHIPRT_DTYPE_I32 || flags->shape[0] != 4) return 1;
    const int32_t side = (int32_t)args->scalars[2], round = (int32_t)args->scalars[3];
    if (side < 0 || side > 1 || round < 1) return 1;
    __atomic_store_n(&((int32_t*)flags->data)[2 + side], round, __ATOMIC_SEQ_CST);
    const uint64_t ms = args->scalars[1];
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    return flat(args, 1.0f);
  }
  if (mode == 1) {
    if (args->tensor_count != 2) return 1;
    return flat(args, 0.0f);
  }
  if (mode != 2 || args->tensor_count != 3 || args->scalar_count != 6) return 1;
  const chiprt_kernel_tensor_t* flags = &args->tensors[1];
  const chiprt_kernel_tensor_t* met = &args->tensors[2];
  if (flags->dtype != CHIPRT_DTYPE_I32 || flags->shape[0] != 4) return 1;
  int32_t* f = (int32_t*)flags->data;
  const int32_t side = (int32_t)args->scalars[1], round = (int32_t)args->scalars[2];
  const int64_t wait_ms = (int64_t)args->scalars[3];
  const uint64_t helper_core_from = args->scalars[4];
  const int64_t helper_wait_ms = (int64_t)args->scalars[5];
  if (side < 0 || side > 1 || round < 1) return 1;
  __atomic_store_n(&f[side], round, __ATOMIC_SEQ_CST);
  if (helper_core_from != 0 && args->core_index >= helper_core_from) {
    const int64_t give_up = now_ms() + helper_wait_ms;
    while (__atomic_load_n(&f[3 - side], __ATOMIC_SEQ_CST) < round) {
      if (now_ms() > give_up) return 11;
      sched_yield();
    }
  }
  const int64_t deadline = now_ms() + wait_ms;
  while (__atomic_load_n(&f[1 - side], __ATOMIC_SEQ_CST) < round) {
    if (now_ms() > deadline) return 9;
    sched_yield();
  }
  ((float*)met->data)[0] = 1.0f;
  return 0;
}

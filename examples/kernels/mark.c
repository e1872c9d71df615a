/* Mark kernel (dispatch benchmarks): does no work but leaves proof that it ran. When its last
 * tensor parameter is an i32 view of two elements (the task's slot of a marks tensor), it
 * writes its task id into the first and counts its calls in the second, so a check can tell a
 * task that never ran, ran twice or ran as another task. Otherwise it does nothing. */
#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count == 0) return 0;
  const chiprt_kernel_tensor_t* slot = &args->tensors[args->tensor_count - 1];
  if (slot->dtype != CHIPRT_DTYPE_I32 || slot->ndim != 1 || slot->shape[0] != 2) return 0;
  int32_t* s = (int32_t*)slot->data;
  s[0] = (int32_t)args->task_id;
  s[slot->strides[0]] += 1;
  return 0;
}

/* Copy kernel: tensors x, y (dense views of one dtype and element count), scalar fault.
 * y = x bytewise; fault 2 dereferences a bad pointer, fault 5 spins forever. */
#include <stdint.h>
#include <string.h>

#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* a) {
  if (a->scalar_count > 0 && a->scalars[0] == 2) *(volatile int*)(uintptr_t)8 = 1;
  volatile int spin = a->scalar_count > 0 && a->scalars[0] == 5;
  while (spin) {
  }
  if (a->tensor_count != 2) return 1;
  const chiprt_kernel_tensor_t* x = &a->tensors[0];
  const chiprt_kernel_tensor_t* y = &a->tensors[1];
  if (x->dtype != y->dtype) return 2;
  int64_t n = 1;
  for (uint32_t d = 0; d < x->ndim; ++d) n *= x->shape[d];
  memcpy(y->data, x->data, (size_t)n * chiprt_dtype_size(x->dtype));
  return 0;
}

/* Fault kernel for the device-process tests: out = x + 1, unless scalar 0 asks for a fault:
 * 2 bad pointer, 3 abort(), 4 exit(0), 5 spin forever, 6 return 7 (an ordinary kernel failure). */
#include <stdint.h>
#include <stdlib.h>

#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* a) {
  volatile int spin = 1;
  switch (a->scalar_count > 0 ? a->scalars[0] : 0) {
    case 2:
      *(volatile int*)(uintptr_t)8 = 1;
      break;
    case 3:
      abort();
    case 4:
      exit(0);
    case 5:
      while (spin) {
      }
      break;
    case 6:
      return 7;
    default:
      break;
  }
  const float* x = (const float*)a->tensors[0].data;
  float* out = (float*)a->tensors[1].data;
  for (int64_t i = 0; i < a->tensors[0].shape[0]; ++i) out[i] = x[i] + 1.0f;
  return 0;
}

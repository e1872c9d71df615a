/* Fault kernel for the device-process tests: out = x + 1, unless scalar 0 asks for a fault:
 * 2 bad pointer, 3 abort(), 4 exit(0), 5 spin forever, 6 return 7 (an ordinary kernel failure),
 * 7 sleep 50 ms first (a slow but healthy kernel). */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

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
    case 7: {
      const struct timespec slow = {0, 50 * 1000 * 1000};
      nanosleep(&slow, NULL);
      break;
    }
    default:
      break;
  }
  const float* x = (const float*)a->tensors[0].data;
  float* out = (float*)a->tensors[1].data;
  for (int64_t i = 0; i < a->tensors[0].shape[0]; ++i) out[i] = x[i] + 1.0f;
  return 0;
}

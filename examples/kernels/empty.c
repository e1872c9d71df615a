/* Empty kernel: does nothing, so a run measures dispatch alone. */
#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  (void)args;
  return 0;
}

/* chiprt kernel ABI, version 1.
 *
 * Self-contained C header. A kernel is a shared object that exports one entry:
 *
 *   int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args);
 *
 * returning 0 on success and any other value to fail its task (and so the run). It is
 * called on a core thread of the type the task named. `tensors` lists the task's tensor
 * parameters in submission order with pointers already resolved to the first element of
 * each view; `scalars` lists its scalar parameters in order. Pointers are valid only for the
 * duration of the call.
 */
#ifndef CHIPRT_ABI_KERNEL_H_
#define CHIPRT_ABI_KERNEL_H_

#include <stdint.h>

#include "chiprt/abi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIPRT_KERNEL_ABI_VERSION 1u
#define CHIPRT_KERNEL_ENTRY_SYMBOL "chiprt_kernel_entry"

typedef struct chiprt_kernel_tensor {
  void* data; /* element (0, ..., 0) of the view */
  uint32_t dtype;
  uint32_t ndim;
  int64_t shape[CHIPRT_MAX_DIMS];
  int64_t strides[CHIPRT_MAX_DIMS]; /* in elements */
  uint32_t kind; /* chiprt_param_kind_t */
  uint32_t reserved;
} chiprt_kernel_tensor_t;

typedef struct chiprt_kernel_args {
  uint32_t abi_version; /* CHIPRT_KERNEL_ABI_VERSION */
  uint32_t func_id;
  uint32_t core_type;
  uint32_t core_index;
  uint32_t tensor_count;
  uint32_t scalar_count;
  const chiprt_kernel_tensor_t* tensors;
  const uint64_t* scalars;
  uint64_t task_id;
} chiprt_kernel_args_t;

typedef int32_t (*chiprt_kernel_entry_fn)(const chiprt_kernel_args_t* args);

#ifdef __cplusplus
}
#endif

#endif /* CHIPRT_ABI_KERNEL_H_ */

/* chiprt orchestration ABI, version 1.
 *
 * Self-contained C header. An orchestration is a shared object that links against nothing
 * from chiprt and exports one entry:
 *
 *   int32_t chiprt_orchestration_entry(const chiprt_orch_api_t* api, void* ctx);
 *
 * It returns CHIPRT_ORCH_OK or a non-zero code of its own. The runtime calls the entry once
 * per run (tmr: on an AICPU thread; hbg: on the host, once per recorded graph) and gives it
 * a function table plus an opaque context to pass back to every call. All table calls are
 * made from the thread running the entry.
 *
 * Memory: input tensors come from get_tensor_arg; intermediate tensors from alloc_tensor
 * belong to the innermost open scope and are freed once that scope has ended and every task
 * that uses them has completed; outputs come from alloc_output and are copied back to the
 * host after the run. The entry runs inside an implicit outer scope.
 *
 * Tasks: submit_task names a kernel by func_id (a child of the same image) and a core type,
 * with parameters each tagged input, output, inout or scalar. Dependencies are derived by
 * the runtime from overlaps of tensor views (read-after-write, write-after-read,
 * write-after-write); the orchestration never states them. submit_task may block while the
 * task ring or intermediate heap is full (back-pressure).
 */
#ifndef CHIPRT_ABI_ORCHESTRATION_H_
#define CHIPRT_ABI_ORCHESTRATION_H_

#include <stdint.h>

#include "chiprt/abi/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHIPRT_ORCH_ABI_VERSION 1u
#define CHIPRT_ORCH_ENTRY_SYMBOL "chiprt_orchestration_entry"
#define CHIPRT_MAX_TASK_PARAMS 16u

/* Return codes of table calls. */
#define CHIPRT_ORCH_OK 0
#define CHIPRT_ORCH_NOT_FOUND 1     /* no argument of that name */
#define CHIPRT_ORCH_INVALID 2       /* malformed request (bad dtype, ndim, param count...) */
#define CHIPRT_ORCH_EXHAUSTED 3     /* a bounded resource can never fit the request */
#define CHIPRT_ORCH_FAILED 4        /* the run already failed (e.g. a kernel error) */

typedef enum chiprt_param_kind {
  CHIPRT_PARAM_INPUT = 0,
  CHIPRT_PARAM_OUTPUT = 1,
  CHIPRT_PARAM_INOUT = 2,
  CHIPRT_PARAM_SCALAR = 3,
} chiprt_param_kind_t;

typedef struct chiprt_param {
  uint32_t kind; /* chiprt_param_kind_t */
  uint32_t reserved;
  chiprt_tensor_t tensor; /* for tensor kinds */
  uint64_t scalar;        /* for CHIPRT_PARAM_SCALAR */
} chiprt_param_t;

typedef struct chiprt_task {
  uint32_t func_id;
  uint32_t core_type; /* chiprt_core_type_t: 0 AIC, 1 AIV */
  uint32_t param_count; /* <= CHIPRT_MAX_TASK_PARAMS */
  uint32_t reserved;
  const chiprt_param_t* params;
} chiprt_task_t;

typedef struct chiprt_orch_api {
  uint32_t abi_version; /* CHIPRT_ORCH_ABI_VERSION */
  uint32_t struct_size; /* sizeof(chiprt_orch_api_t) of the runtime */

  int32_t (*get_tensor_arg)(void* ctx, const char* name, chiprt_tensor_t* out);
  int32_t (*get_scalar_arg)(void* ctx, const char* name, double* out);

  int32_t (*alloc_tensor)(void* ctx, uint32_t dtype, uint32_t ndim, const int64_t* shape,
                          chiprt_tensor_t* out);
  int32_t (*alloc_output)(void* ctx, const char* name, uint32_t dtype, uint32_t ndim,
                          const int64_t* shape, chiprt_tensor_t* out);
  int32_t (*scope_begin)(void* ctx);
  int32_t (*scope_end)(void* ctx);

  int32_t (*submit_task)(void* ctx, const chiprt_task_t* task);
  int32_t (*sync)(void* ctx); /* waits for every task submitted so far */

  void (*log)(void* ctx, const char* message);
} chiprt_orch_api_t;

typedef int32_t (*chiprt_orchestration_entry_fn)(const chiprt_orch_api_t* api, void* ctx);

#ifdef __cplusplus
}
#endif

#endif /* CHIPRT_ABI_ORCHESTRATION_H_ */

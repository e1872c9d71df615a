/* Property-test kernel: dag_op (random_dag.h) on its task's views. Tensors: 0..2 inputs, then
 * the output (kind output or inout); scalars: four f32 coefficients. */
#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "random_dag.h"

static dag_view as_view(const chiprt_kernel_tensor_t* t) {
  dag_view v;
  v.data = (float*)t->data;
  v.shape[0] = t->shape[0];
  v.shape[1] = t->ndim > 1 ? t->shape[1] : 1;
  v.strides[0] = t->strides[0];
  v.strides[1] = t->ndim > 1 ? t->strides[1] : 1;
  return v;
}

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  if (args->tensor_count < 1 || args->tensor_count > 3 || args->scalar_count != 4) return 1;
  const int nin = (int)args->tensor_count - 1;
  dag_view in[2];
  for (int k = 0; k < nin; ++k) in[k] = as_view(&args->tensors[k]);
  const chiprt_kernel_tensor_t* out = &args->tensors[nin];
  const dag_view o = as_view(out);
  float coef[4];
  for (int k = 0; k < 4; ++k) coef[k] = chiprt_scalar_to_f32(args->scalars[k]);
  dag_op(&o, out->kind == CHIPRT_PARAM_INOUT, nin, in, coef);
  return 0;
}

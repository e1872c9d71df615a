/* The checks' test kernels, over 1-D float32 views (tensors in task order, see orch_check.c):
 * 1 scale:      out = 2 * in
 * 2 overrun:    out = 2 * in, then 192 floats of 7 past the end of out's view
 * 3 wide write: 3 into twice the elements of out's view (its view is half the tensor)
 * 4 wide read:  every element of out = the sum of twice the elements of in's view
 * 5 fill:       out = scalar 0 (an f32)
 * 6 far read:   out = 2 * in + the float 1 MiB past the start of in
 * 7 far write:  out = 2 * in, and 1 into the float 1 MiB past the start of out */
#include "chiprt/abi/kernel.h"

int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* args) {
  const chiprt_kernel_tensor_t* t = args->tensors;
  switch (args->func_id) {
    case 6:
    case 7: {
      const float* in = (const float*)t[0].data;
      float* out = (float*)t[1].data;
      const float far = args->func_id == 6 ? in[1 << 18] : 0.0f;
      for (int64_t i = 0; i < t[0].shape[0]; ++i)
        out[i * t[1].strides[0]] = 2.0f * in[i * t[0].strides[0]] + far;
      if (args->func_id == 7) out[1 << 18] = 1.0f;
      return 0;
    }
    case 1:
    case 2: {
      const float* in = (const float*)t[0].data;
      float* out = (float*)t[1].data;
      for (int64_t i = 0; i < t[0].shape[0]; ++i)
        out[i * t[1].strides[0]] = 2.0f * in[i * t[0].strides[0]];
      if (args->func_id == 2) {
        for (int64_t i = t[1].shape[0]; i < t[1].shape[0] + 192; ++i) out[i] = 7.0f;
      }
      return 0;
    }
    case 3: {
      float* out = (float*)t[0].data;
      for (int64_t i = 0; i < 2 * t[0].shape[0]; ++i) out[i] = 3.0f;
      return 0;
    }
    case 4: {
      const float* in = (const float*)t[0].data;
      float sum = 0;
      for (int64_t i = 0; i < 2 * t[0].shape[0]; ++i) sum += in[i];
      float* out = (float*)t[1].data;
      for (int64_t i = 0; i < t[1].shape[0]; ++i) out[i * t[1].strides[0]] = sum;
      return 0;
    }
    case 5: {
      const float value = chiprt_scalar_to_f32(args->scalars[0]);
      float* out = (float*)t[0].data;
      for (int64_t i = 0; i < t[0].shape[0]; ++i) out[i * t[0].strides[0]] = value;
      return 0;
    }
    default:
      return 1;
  }
}

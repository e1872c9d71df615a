// A 2-D float32 view for the runtime's unit tests (footprints, tensormap): rows r x cols c at
// element `offset`, element strides rs and cs, of the tensor named by handle 1.
#pragma once

#include <cstdint>

#include "chiprt/abi/tensor.h"

namespace chiprt::testing {

inline chiprt_tensor_t view2d(uint64_t offset, int64_t r, int64_t c, int64_t rs, int64_t cs) {
  chiprt_tensor_t v{};
  v.base = 1;
  v.offset = offset;
  v.dtype = CHIPRT_DTYPE_F32;
  v.ndim = 2;
  v.shape[0] = r;
  v.shape[1] = c;
  v.strides[0] = rs;
  v.strides[1] = cs;
  return v;
}

}  // namespace chiprt::testing

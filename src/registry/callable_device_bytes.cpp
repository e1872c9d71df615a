#include "callable_device_bytes.h"

#include <algorithm>

namespace chiprt {

uint64_t callable_storage_begin(const ImageView& image, RuntimeKind runtime) {
  // hbg keeps the orchestration on the host: the header is followed directly by the kernels
  // (none: by nothing).
  return runtime == RuntimeKind::hbg ? std::min(image.kernels_begin(), image.code_end())
                                     : image.header_size();
}

uint64_t callable_device_bytes(const ImageView& image, RuntimeKind runtime) {
  return image.header_size() + (image.code_end() - callable_storage_begin(image, runtime));
}

}  // namespace chiprt

#include "chiprt/callable.h"

namespace chiprt {

uint64_t callable_device_bytes(const ImageView& image, RuntimeKind runtime) {
  // hbg keeps the orchestration on the host: the header is followed directly by the kernels.
  const uint64_t storage_from =
      runtime == RuntimeKind::hbg ? image.kernels_begin() : image.header_size();
  return image.header_size() + (image.size() - storage_from);
}

}  // namespace chiprt

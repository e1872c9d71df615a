// Which bytes of an image a runtime places on the device: the header, then the image's bytes
// from callable_storage_begin to its code end (see callable_device_bytes in chiprt/callable.h).
#pragma once

#include <cstdint>

#include "chiprt/callable.h"

namespace chiprt {

// The first image byte placed after the header: the orchestration on tmr, the lowest kernel on
// hbg (the code end when there is none).
uint64_t callable_storage_begin(const ImageView& image, RuntimeKind runtime);

}  // namespace chiprt

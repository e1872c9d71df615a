// ELF checks for code inside an image: a shared object for the machine we run on.
#pragma once

#include <string_view>

#include "chiprt/bytes.h"
#include "chiprt/status.h"

namespace chiprt::format {

// ok, or image_bad_elf naming `what` and the defect. Never modifies `bytes`.
Status check_shared_object(ByteSpan bytes, std::string_view what);

}  // namespace chiprt::format

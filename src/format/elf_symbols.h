// Exported symbols of a shared object, read from its dynamic symbol table (libelf) without
// loading it: how `chiprt pack` checks the entry points before an image is ever registered.
#pragma once

#include <string_view>

#include "chiprt/bytes.h"
#include "chiprt/status.h"

namespace chiprt::format {

// Whether `bytes` (an ELF shared object) defines and exports the function `name`;
// image_bad_elf when the bytes cannot be read as ELF.
Result<bool> exports_function(ByteSpan bytes, std::string_view name);

}  // namespace chiprt::format

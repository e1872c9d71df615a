#include <fmt/format.h>

#include "chiprt/device.h"

namespace chiprt {

Result<ChipProfile> chip_profile(std::string_view name) {
  // Core counts follow the parts the profiles are named after; ring and heap defaults are
  // the tmr runtime's starting points, overridable per worker.
  if (name == "a2a3") {
    return ChipProfile{"a2a3", 24, 48, 4, 64, 64ull << 20};
  }
  if (name == "a5") {
    return ChipProfile{"a5", 32, 64, 6, 128, 128ull << 20};
  }
  return Status(StatusCode::not_found,
                fmt::format("unknown chip profile '{}' (known: a2a3, a5)", name));
}

}  // namespace chiprt

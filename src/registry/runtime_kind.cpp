#include "chiprt/runtime_kind.h"

#include <fmt/format.h>

namespace chiprt {

std::string_view runtime_name(RuntimeKind runtime) noexcept {
  return runtime == RuntimeKind::tmr ? "tmr" : "hbg";
}

Result<RuntimeKind> parse_runtime(std::string_view name) {
  if (name == "tmr") return RuntimeKind::tmr;
  if (name == "hbg") return RuntimeKind::hbg;
  return Status(StatusCode::invalid_argument,
                fmt::format("unknown runtime '{}' (known: tmr, hbg)", name));
}

}  // namespace chiprt

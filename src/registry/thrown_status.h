// The exception being handled, as an error value: registration is an API boundary that no
// exception crosses (a hook, a loader, the device or host memory may throw beneath it).
#pragma once

#include <fmt/format.h>

#include <exception>
#include <string_view>

#include "chiprt/status.h"

namespace chiprt::registry {

// Call only inside a catch block: internal, naming `during` and the exception's what().
inline Status thrown_status(std::string_view during) {
  try {
    throw;
  } catch (const std::exception& e) {
    return Status(StatusCode::internal, fmt::format("{} threw: {}", during, e.what()));
  } catch (...) {
    return Status(StatusCode::internal, fmt::format("{} threw", during));
  }
}

}  // namespace chiprt::registry

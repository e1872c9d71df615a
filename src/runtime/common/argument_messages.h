// Messages an orchestration's failed argument lookups leave as its run's last error, the same on
// both runtimes, so that "orchestration entry returned N" says what was missing.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "chiprt/status.h"

namespace chiprt::runtime {

// The orchestration asked for tensor argument `name`, which the run was not given. A scalar of
// that name is the usual slip (a number, or a numpy scalar, where an array was meant): say so.
inline Status missing_tensor_argument(std::string_view name, bool given_as_scalar) {
  return Status(StatusCode::not_found,
                fmt::format("no tensor argument '{}'{}", name,
                            given_as_scalar ? " (it was given as a scalar; a tensor argument is "
                                              "an array of at least one dimension)"
                                            : ""));
}

}  // namespace chiprt::runtime

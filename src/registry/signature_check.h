// Checks a run's arguments against a registered image's signature, before the orchestration.
#pragma once

#include "chiprt/image.h"
#include "chiprt/run.h"
#include "chiprt/status.h"

namespace chiprt::registry {

// Ok when `signature` is empty (the image has none). Otherwise invalid_argument naming the first
// argument that is missing (a required input or scalar), extra (a tensor, device input, scalar
// or device output the signature does not list as such) or of the wrong dtype or rank.
Status check_run_args(const Signature& signature, const RunArgs& args);

}  // namespace chiprt::registry

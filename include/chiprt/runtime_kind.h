// RuntimeKind: which runtime a worker runs its callables on. The registry (which places an image
// differently per runtime) and the worker both name it; this header depends on nothing else.
#pragma once

#include <string_view>

#include "chiprt/status.h"

namespace chiprt {

// tmr: the orchestration runs on the device (AICPU) from the callable's device buffer.
// hbg: the orchestration runs on the host and records a graph; the device holds the kernels.
enum class RuntimeKind { tmr, hbg };
std::string_view runtime_name(RuntimeKind runtime) noexcept;  // "tmr" / "hbg"
// invalid_argument naming the known runtimes for any other name.
Result<RuntimeKind> parse_runtime(std::string_view name);

}  // namespace chiprt

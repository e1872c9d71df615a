// Checks of what a benchmark's runs produced, so a runtime that skipped or repeated work cannot
// report a number: the marks the dispatch kernels leave, and outputs against a reference.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "chiprt/run.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// `marks` is an i32 tensor [rows, 2] read back after a run of `tasks` tasks of the mark kernel
// (examples/kernels/mark.c): row k must hold task id k and a call count of 1 for k < tasks, and
// a count of 0 after. Else internal (the runtime got it wrong) naming the first few bad rows and
// how many.
Status check_marks(std::span<const int32_t> marks, uint64_t tasks);

// out = softmax(q @ k^T / sqrt(D)) @ v, in double precision, row-major [S, Dv].
std::vector<double> attention_reference(const HostTensor& q, const HostTensor& k,
                                        const HostTensor& v);

// Whether f32 `got` matches `want` element by element within `tolerance` (absolute, plus the
// same relative to |want|). Else internal naming `what` and the first mismatch.
Status check_close(const HostTensor& got, std::span<const double> want, double tolerance,
                   const std::string& what);

}  // namespace chiprt::cli

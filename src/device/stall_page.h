// Reading a stall snapshot (protocol.h, StallSection) into a StallReport. The page is written
// by a process that runs user code: every count is clamped to its array, tasks with a state or
// core type outside the protocol are dropped, and nothing is indexed by a value read from it.
#pragma once

#include <span>

#include "chiprt/stall_report.h"
#include "device/protocol.h"

namespace chiprt::device {

// `snapshot`: a copy of the page's snapshot, or null when the device did not answer in time.
// `orchestration`: the run's orchestration word. `running`: the run's kernels as its threads'
// records name them (they give running predecessors their core index).
StallReport read_stall_snapshot(const protocol::StallSnapshot* snapshot, uint64_t run,
                                uint32_t orchestration, std::span<const StallReport::Task> running);

}  // namespace chiprt::device

// Checks: what the simulated chip tells about device code that the real chip would get wrong
// silently (I14). A checked run executes its tasks one at a time in seeded orders the declared
// dependencies allow, and fails with check_failed when
// - memcheck: a kernel wrote outside the writable views its task declared (output, inout),
//   inside a tensor it names or past one;
// - racecheck: an output or inout tensor differs between two schedules;
// - initcheck: an output depends on device memory no task wrote (fresh outputs and
//   intermediates are poisoned with two patterns in two runs), or was never written.
// A program that passes returns exactly the outputs of its unchecked run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chiprt/status.h"

namespace chiprt {

struct Checks {
  static constexpr uint32_t kMemcheck = 1;
  static constexpr uint32_t kRacecheck = 2;
  static constexpr uint32_t kInitcheck = 4;
  static constexpr uint32_t kAll = kMemcheck | kRacecheck | kInitcheck;
  static constexpr uint32_t kDefaultSeeds = 8;

  uint32_t enabled = 0;            // kMemcheck | kRacecheck | kInitcheck
  uint32_t seeds = kDefaultSeeds;  // racecheck: schedules compared (at least 2)
  // racecheck: replays the one schedule of this seed (with memcheck and initcheck as enabled)
  // instead of `seeds` schedules.
  std::optional<uint64_t> seed;

  bool any() const { return enabled != 0; }
  bool has(uint32_t check) const { return (enabled & check) != 0; }
  // "memcheck,racecheck,initcheck" in any order and subset, "all" or "none"/"".
  static Result<Checks> parse(std::string_view list);
  // The enabled checks as parse() reads them ("none" when none).
  std::string names() const;
};

// One thing a check found. `tensor` names what the user knows: 'x' for an argument or output,
// "intermediate N (alloc_tensor call N)" for the run's N-th intermediate. Offsets are elements of
// that tensor (`begin` inclusive, `end` exclusive); for a write outside every tensor the task
// names, bytes relative to the end (or start) of the tensor it ran past, `past_end` telling which.
struct CheckFinding {
  std::string check;  // "memcheck", "racecheck", "initcheck"
  bool has_task = false;
  uint64_t task_id = 0;
  uint32_t func_id = 0;
  uint32_t core_type = 0;  // chiprt_core_type_t
  uint32_t core_index = 0;
  std::string tensor;
  std::string unit = "elements";  // or "bytes"
  uint64_t begin = 0;
  uint64_t end = 0;
  std::string message;  // one line: check, task, tensor and range
};

// Filled by a checked run, also when it fails: every finding up to kMaxFindings.
struct CheckReport {
  static constexpr size_t kMaxFindings = 64;
  Checks checks;
  uint32_t schedules = 0;  // runs made
  std::vector<CheckFinding> findings;
  uint64_t dropped = 0;  // findings beyond kMaxFindings
};

}  // namespace chiprt

#include "runtime/check/checked_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace chiprt::runtime {
namespace {

constexpr uint8_t kPoisonA = 0xa5;
constexpr uint8_t kPoisonB = 0x5a;
constexpr uint64_t kFirstSeed = 1;

// What a run left that the caller sees: its host outputs, device output targets and device
// inputs, by name.
struct Observed {
  std::string name;
  std::string label;  // "output 'y'", "device input 'w'"
  uint32_t dtype = CHIPRT_DTYPE_F32;
  bool fresh = false;  // poisoned by initcheck (an output)
  Bytes data;
};
using Observation = std::map<std::string, Observed>;

Result<Bytes> read_device(const Device& device, const DeviceTensorRef& ref) {
  Bytes out(ref.bytes);
  CHIPRT_RETURN_IF_ERROR(device.copy_from_device(out, ref.addr));
  return out;
}

Result<Observation> observe(const Device& device, const RunArgs& args, const RunReport& report) {
  Observation out;
  // Keyed by kind and name: a device input may share its name with an output.
  for (const auto& [name, t] : report.outputs) {
    out["output " + name] = Observed{name, fmt::format("output '{}'", name), t.dtype, true, t.data};
  }
  for (const auto& [name, ref] : args.device_outputs) {
    CHIPRT_ASSIGN_OR_RETURN(Bytes data, read_device(device, ref));
    out["output " + name] =
        Observed{name, fmt::format("output '{}'", name), ref.dtype, true, std::move(data)};
  }
  for (const auto& [name, ref] : args.device_inputs) {
    CHIPRT_ASSIGN_OR_RETURN(Bytes data, read_device(device, ref));
    out["input " + name] =
        Observed{name, fmt::format("device input '{}'", name), ref.dtype, false, std::move(data)};
  }
  return out;
}

uint32_t element_bytes(uint32_t dtype) {
  return std::max(1u, chiprt_dtype_size(dtype));
}

// Whether two runs made `a` and `b` alike in dtype and size (an orchestration may not).
bool same_form(const Observed& a, const Observed& b) {
  return a.dtype == b.dtype && a.data.size() == b.data.size();
}

// Element ranges [begin, end) where `a` and `b` (of the same form) differ.
std::vector<std::pair<uint64_t, uint64_t>> differences(const Observed& a, const Observed& b) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const uint32_t size = element_bytes(a.dtype);
  const uint64_t elements = a.data.size() / size;
  constexpr uint64_t kNone = ~0ull;
  uint64_t open = kNone;  // first element of the range being read
  for (uint64_t e = 0; e < elements; ++e) {
    const bool differs = std::memcmp(a.data.data() + e * size, b.data.data() + e * size, size) != 0;
    if (differs && open == kNone) open = e;
    if (!differs && open != kNone) {
      out.emplace_back(open, e);
      open = kNone;
    }
  }
  if (open != kNone) out.emplace_back(open, elements);
  return out;
}

std::string value_text(const Observed& t, uint64_t e) {
  const std::byte* p = t.data.data() + e * element_bytes(t.dtype);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (t.dtype) {
    case CHIPRT_DTYPE_F32:
      return fmt::format("{}", load(float{}));
    case CHIPRT_DTYPE_I32:
      return fmt::format("{}", load(int32_t{}));
    case CHIPRT_DTYPE_I64:
      return fmt::format("{}", load(int64_t{}));
    case CHIPRT_DTYPE_U8:
      return fmt::format("{}", load(uint8_t{}));
    case CHIPRT_DTYPE_F16:
      return fmt::format("0x{:04x}", load(uint16_t{}));
    default:
      return "?";
  }
}

bool all_bytes(const Observed& t, uint64_t begin, uint64_t end, uint8_t value) {
  const uint32_t size = element_bytes(t.dtype);
  for (uint64_t i = begin * size; i < end * size; ++i) {
    if (t.data[i] != std::byte{value}) return false;
  }
  return true;
}

CheckFinding tensor_finding(std::string check, const std::string& name, uint64_t begin,
                            uint64_t end, std::string message) {
  CheckFinding f;
  f.check = std::move(check);
  f.tensor = name;
  f.begin = begin;
  f.end = end;
  f.message = std::move(message);
  return f;
}

// A tensor of another dtype or size in another run: the run depends on the schedule or on
// memory no task wrote. Never indexes either.
CheckFinding form_finding(const std::string& check, const Observed& a, const Observed& b,
                          const std::string& how) {
  return tensor_finding(
      check, a.name, 0, 0,
      fmt::format("{}: {} is dtype {} of {} bytes in one run and dtype {} of {} "
                  "bytes in {}",
                  check, a.label, a.dtype, a.data.size(), b.dtype, b.data.size(), how));
}

// initcheck: where the runs poisoned with A and B differ, an output depends on memory no task
// wrote; where it still holds each run's poison, no task wrote it at all.
void initcheck(const Observation& a, const Observation& b, std::vector<CheckFinding>& out) {
  for (const auto& [name, ta] : a) {
    auto it = b.find(name);
    if (!ta.fresh || it == b.end()) continue;
    if (!same_form(ta, it->second)) {
      out.push_back(form_finding("initcheck", ta, it->second, "the run poisoned otherwise"));
      continue;
    }
    for (auto [begin, end] : differences(ta, it->second)) {
      // Split the range into stretches that were never written and ones that were.
      uint64_t from = begin;
      while (from < end) {
        const bool unwritten = all_bytes(ta, from, from + 1, kPoisonA) &&
                               all_bytes(it->second, from, from + 1, kPoisonB);
        uint64_t to = from + 1;
        while (to < end && (all_bytes(ta, to, to + 1, kPoisonA) &&
                            all_bytes(it->second, to, to + 1, kPoisonB)) == unwritten) {
          ++to;
        }
        out.push_back(tensor_finding(
            "initcheck", ta.name, from, to,
            unwritten ? fmt::format("initcheck: elements [{}, {}) of {} were never written by any "
                                    "task (they hold the poison of each run)",
                                    from, to, ta.label)
                      : fmt::format("initcheck: elements [{}, {}) of {} depend on device memory "
                                    "no task wrote (they differ between runs that poison fresh "
                                    "memory with 0x{:02x} and with 0x{:02x})",
                                    from, to, ta.label, kPoisonA, kPoisonB)));
        from = to;
      }
    }
  }
}

// racecheck: a tensor that differs from the first schedule's names the first range where it
// does (once per tensor: the first schedule that shows it).
void racecheck(const Observation& first, uint64_t first_seed, const Observation& other,
               uint64_t seed, std::map<std::string, bool>& reported,
               std::vector<CheckFinding>& out) {
  for (const auto& [name, ta] : first) {
    auto it = other.find(name);
    if (it == other.end() || reported[name]) continue;
    if (!same_form(ta, it->second)) {
      reported[name] = true;
      out.push_back(
          form_finding("racecheck", ta, it->second, fmt::format("the schedule of seed {}", seed)));
      continue;
    }
    auto ranges = differences(ta, it->second);
    if (ranges.empty()) continue;
    reported[name] = true;
    const auto [begin, end] = ranges.front();
    out.push_back(tensor_finding(
        "racecheck", ta.name, begin, end,
        fmt::format("racecheck: elements [{}, {}) of {} depend on the order of tasks the declared "
                    "dependencies leave free: element {} is {} with seed {} and {} with seed {} "
                    "(replay one with --check-seed)",
                    begin, end, ta.label, begin, value_text(ta, begin), first_seed,
                    value_text(it->second, begin), seed)));
  }
}

// Names the task that last wrote the finding's first element in the first schedule (from
// memcheck's record of each task's writes), if any did.
void attribute(CheckFinding& f, const std::vector<CheckWrite>& writes) {
  if (f.has_task) return;  // the device named it already
  for (auto w = writes.rbegin(); w != writes.rend(); ++w) {
    if (w->tensor != f.tensor || f.begin < w->begin || f.begin >= w->end) continue;
    f.has_task = true;
    f.task_id = w->task_id;
    f.func_id = w->func_id;
    f.core_type = w->core_type;
    f.core_index = w->core_index;
    f.message += fmt::format("; element {} was written last by task {} (func_id {}, {} core {})",
                             f.begin, w->task_id, w->func_id,
                             core_type_name(static_cast<CoreType>(w->core_type)), w->core_index);
    return;
  }
}

}  // namespace

Result<RunReport> run_checked(Device& device, const Checks& checks, const RunArgs& args,
                              const RunOnce& run_once) {
  // Device inputs as the caller left them: every schedule starts from these.
  std::map<std::string, Bytes> saved;
  for (const auto& [name, ref] : args.device_inputs) {
    CHIPRT_ASSIGN_OR_RETURN(saved[name], read_device(device, ref));
  }
  auto restore = [&]() -> Status {
    for (const auto& [name, ref] : args.device_inputs) {
      CHIPRT_RETURN_IF_ERROR(device.copy_to_device(ref.addr, saved[name]));
    }
    return Status::Ok();
  };

  const uint64_t seed0 = checks.seed.value_or(kFirstSeed);
  const bool init = checks.has(Checks::kInitcheck);
  CheckReport report;
  report.checks = checks;
  std::vector<CheckFinding> memchecks, inits, races;
  std::vector<CheckWrite> writes;  // of the first schedule
  auto once = [&](uint64_t seed, bool memcheck, uint8_t poison) -> Result<RunReport> {
    if (report.schedules > 0) CHIPRT_RETURN_IF_ERROR(restore());
    ++report.schedules;
    LaunchCheck launch;
    launch.serial = true;
    launch.seed = seed;
    launch.memcheck = memcheck;
    launch.poison = poison;
    auto run = run_once(args, launch, memcheck ? &writes : nullptr);
    // The first schedule is memchecked for its record of writes also when memcheck was not
    // asked for: then only the findings of the checks asked for are reported (its racecheck
    // findings: tasks no dependency orders whose writes overlap).
    if (run.ok() && run->checks) {
      for (CheckFinding& f : run->checks->findings) {
        if (f.check == "memcheck" && checks.has(Checks::kMemcheck)) {
          memchecks.push_back(std::move(f));
        } else if (f.check == "racecheck" && checks.has(Checks::kRacecheck)) {
          races.push_back(std::move(f));
        }
      }
      report.dropped += run->checks->dropped;
    }
    return run;
  };
  auto finish = [&]() -> Status {
    for (auto* list : {&inits, &races}) {
      for (CheckFinding& f : *list) attribute(f, writes);
    }
    std::stable_sort(memchecks.begin(), memchecks.end(), [](const auto& a, const auto& b) {
      return std::tie(a.task_id, a.tensor, a.begin) < std::tie(b.task_id, b.tensor, b.begin);
    });
    for (auto* list : {&memchecks, &inits, &races}) {
      for (CheckFinding& f : *list) {
        if (report.findings.size() < CheckReport::kMaxFindings) {
          report.findings.push_back(std::move(f));
        } else {
          ++report.dropped;
        }
      }
    }
    if (args.check_report) *args.check_report = report;
    if (report.findings.empty()) return Status::Ok();
    const uint64_t more = report.findings.size() - 1 + report.dropped;
    return Status(StatusCode::check_failed, more == 0 ? report.findings.front().message
                                                      : fmt::format("{} (and {} more finding{})",
                                                                    report.findings.front().message,
                                                                    more, more == 1 ? "" : "s"));
  };
  CHIPRT_ASSIGN_OR_RETURN(RunReport first, once(seed0, true, init ? kPoisonA : 0));
  CHIPRT_ASSIGN_OR_RETURN(Observation seen, observe(device, args, first));
  // Whatever the outcome, the caller's device tensors are as the first schedule left them.
  auto restore_first = [&]() -> Status {
    if (report.schedules < 2) return Status::Ok();
    for (const auto& [name, ref] : args.device_outputs) {
      CHIPRT_RETURN_IF_ERROR(device.copy_to_device(ref.addr, seen["output " + name].data));
    }
    for (const auto& [name, ref] : args.device_inputs) {
      CHIPRT_RETURN_IF_ERROR(device.copy_to_device(ref.addr, seen["input " + name].data));
    }
    return Status::Ok();
  };
  // A later schedule that fails after findings were made (the corruption they name may be why)
  // reports the findings.
  auto later_failure = [&](Status failed) -> Status {
    (void)restore_first();  // best effort: the failure (or the findings) is what is reported
    if (memchecks.empty() && inits.empty() && races.empty()) return failed;
    return finish();
  };
  if (init) {
    auto second = once(seed0, false, kPoisonB);
    if (!second.ok()) return later_failure(second.status());
    auto poisoned = observe(device, args, *second);
    if (!poisoned.ok()) return later_failure(poisoned.status());
    initcheck(seen, *poisoned, inits);
  }
  if (checks.has(Checks::kRacecheck) && !checks.seed) {
    std::map<std::string, bool> reported;
    const uint32_t seeds = std::max(2u, checks.seeds);
    for (uint64_t seed = seed0 + 1; seed < seed0 + seeds; ++seed) {
      auto other = once(seed, false, init ? kPoisonA : 0);
      if (!other.ok()) return later_failure(other.status());
      auto then = observe(device, args, *other);
      if (!then.ok()) return later_failure(then.status());
      racecheck(seen, seed0, *then, seed, reported, races);
    }
  }
  CHIPRT_RETURN_IF_ERROR(restore_first());
  CHIPRT_RETURN_IF_ERROR(finish());
  first.checks = report;
  return first;
}

}  // namespace chiprt::runtime

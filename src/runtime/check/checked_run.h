// A checked run (chiprt/check.h) on the host: the same callable run once per schedule, each
// launch checked on the device (runtime/check/task_checker.h), and the runs compared.
//
// Schedules: seed 1 with memcheck (and poison A when initcheck is on); initcheck: seed 1 again
// with poison B; racecheck: seeds 2..Checks::seeds with poison A (or only Checks::seed). Every
// run starts from the same inputs: host tensors are uploaded by each run, device inputs are
// saved before the first and restored before each later one. Compared across runs: every host
// output, every device output target and every device input (a kernel may write an inout one).
// The caller's results are those of the first run; when nothing was found they equal an
// unchecked run's.
#pragma once

#include <functional>

#include "chiprt/check.h"
#include "chiprt/device.h"
#include "chiprt/run.h"

namespace chiprt::runtime {

// One launch of the run, checked as `check` says; a memchecked one's task writes to `writes`.
using RunOnce = std::function<Result<RunReport>(const RunArgs& args, const LaunchCheck& check,
                                                std::vector<CheckWrite>* writes)>;

// check_failed naming the first finding when a check found anything (then `args.check_report`,
// when set, holds them all); the first run's report (with RunReport::checks) otherwise.
Result<RunReport> run_checked(Device& device, const Checks& checks, const RunArgs& args,
                              const RunOnce& run_once);

}  // namespace chiprt::runtime

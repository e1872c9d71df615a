#include "runtime/executor.h"

#include "runtime/hbg/hbg_executor.h"
#include "runtime/tmr/tmr_executor.h"

namespace chiprt::runtime {

std::unique_ptr<Executor> make_executor(Device& device, const WorkerOptions& options) {
  if (options.runtime == RuntimeKind::hbg) return std::make_unique<HbgExecutor>(device, options);
  return std::make_unique<TmrExecutor>(device, options);
}

}  // namespace chiprt::runtime

#include "runtime/executor.h"

namespace chiprt::runtime {
namespace {
class PendingExecutor final : public Executor {
 public:
  Result<RunReport> run(const registry::ChipBuffer&, const RunArgs&) override {
    return Status(StatusCode::failed_precondition, "running callables is not built yet");
  }
};
}  // namespace

std::unique_ptr<Executor> make_executor(Device&, const WorkerOptions&) {
  return std::make_unique<PendingExecutor>();
}

}  // namespace chiprt::runtime

#include "runtime/common/task_check.h"

#include <fmt/format.h>

namespace chiprt::runtime {

Status check_task(const chiprt_task_t& task, uint64_t task_id, const KernelTable& kernels,
                  TensorTable& table, CheckedTask& out) {
  out.kernel = kernels.find(task.func_id);
  if (out.kernel == nullptr) {
    return Status(StatusCode::not_found,
                  fmt::format("task {} names func_id {}, which is not a kernel of this callable",
                              task_id, task.func_id));
  }
  if (task.core_type != static_cast<uint32_t>(out.kernel->core)) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format(
            "task {} submits func_id {} to {}, but it is an {} kernel", task_id, task.func_id,
            task.core_type <= CHIPRT_CORE_AIV
                ? fmt::format("an {} core", core_type_name(static_cast<CoreType>(task.core_type)))
                : fmt::format("unknown core type {}", task.core_type),
            core_type_name(out.kernel->core)));
  }
  if (task.param_count > CHIPRT_MAX_TASK_PARAMS || (task.param_count > 0 && !task.params)) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("task {} has {} parameters (at most {})", task_id, task.param_count,
                              CHIPRT_MAX_TASK_PARAMS));
  }
  out.count = task.param_count;
  for (uint32_t i = 0; i < task.param_count; ++i) {
    const chiprt_param_t& p = task.params[i];
    out.params[i] = p;
    out.records[i] = nullptr;
    if (p.kind == CHIPRT_PARAM_SCALAR) continue;
    if (p.kind > CHIPRT_PARAM_SCALAR) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("task {} parameter {} has kind {}", task_id, i, p.kind));
    }
    TensorRecord* r = table.find(p.tensor.base);
    if (r == nullptr) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("task {} parameter {} names no live tensor", task_id, i));
    }
    if (Status s = check_view(p.tensor, r->dtype, r->elements); !s.ok()) {
      return std::move(s).annotate(fmt::format("task {} parameter {}", task_id, i));
    }
    out.records[i] = r;
  }
  return Status::Ok();
}

void task_accesses(const CheckedTask& task, TaskAccesses& out) {
  out.clear();
  for (uint32_t i = 0; i < task.count; ++i) {
    if (task.records[i] == nullptr) continue;
    const chiprt_param_t& p = task.params[i];
    out.add(p.tensor.base, p.kind != CHIPRT_PARAM_INPUT, p.tensor);
  }
}

}  // namespace chiprt::runtime

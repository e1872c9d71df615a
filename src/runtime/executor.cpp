#include "runtime/executor.h"

#include "runtime/hbg/hbg_executor.h"
#include "runtime/tmr/tmr_executor.h"

namespace chiprt::runtime {

std::unique_ptr<Executor> make_executor(Device& device, const WorkerOptions& options) {
  if (options.runtime == RuntimeKind::hbg) return std::make_unique<HbgExecutor>(device, options);
  return std::make_unique<TmrExecutor>(device, options);
}

std::vector<LaunchKernel> launch_kernels(const registry::ChipBuffer& buffer) {
  std::vector<LaunchKernel> out;
  out.reserve(buffer.kernels.size());
  for (const registry::LoadedKernel& k : buffer.kernels) {
    out.push_back({k.func_id, k.core, k.code->entry()});
  }
  return out;
}

KernelTable kernel_table(const registry::ChipBuffer& buffer) {
  std::vector<KernelRef> refs;
  refs.reserve(buffer.kernels.size());
  for (const registry::LoadedKernel& k : buffer.kernels) {
    refs.push_back({k.func_id, k.core, k.code->entry()});
  }
  return KernelTable(std::move(refs));
}

Deadlines deadlines(const WorkerOptions& options) {
  return Deadlines{options.run_timeout, options.stall_timeout};
}

Status read_outputs(const Device& device, const LaunchResult& result,
                    std::map<std::string, HostTensor>& out) {
  for (const LaunchTensor& t : result.outputs) {
    HostTensor host;
    host.dtype = t.dtype;
    host.shape.assign(t.shape.begin(), t.shape.begin() + t.ndim);
    host.data.resize(t.bytes);
    CHIPRT_RETURN_IF_ERROR(device.copy_from_device(host.data, t.addr));
    out[t.name] = std::move(host);
  }
  return Status::Ok();
}

}  // namespace chiprt::runtime

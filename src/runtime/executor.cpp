#include "runtime/executor.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/common/tensor_table.h"

#include "runtime/hbg/hbg_executor.h"
#include "runtime/tmr/tmr_executor.h"

namespace chiprt::runtime {

std::unique_ptr<Executor> make_executor(Device& device, const WorkerOptions& options) {
  if (options.runtime == RuntimeKind::hbg) return std::make_unique<HbgExecutor>(device, options);
  return std::make_unique<TmrExecutor>(device, options);
}

namespace {
// The callable's kernels as {func_id, core, code entry} records of either form, in func_id order.
template <typename Entry>
std::vector<Entry> kernel_entries(const registry::ChipBuffer& buffer) {
  std::vector<Entry> out;
  out.reserve(buffer.kernels.size());
  for (const registry::LoadedKernel& k : buffer.kernels) {
    out.push_back({k.func_id, k.core, k.code->entry()});
  }
  return out;
}
}  // namespace

std::vector<LaunchKernel> launch_kernels(const registry::ChipBuffer& buffer) {
  return kernel_entries<LaunchKernel>(buffer);
}

KernelTable kernel_table(const registry::ChipBuffer& buffer) {
  return KernelTable(kernel_entries<KernelRef>(buffer));
}

Deadlines deadlines(const WorkerOptions& options) {
  return Deadlines{options.run_timeout, options.stall_timeout, {}, nullptr};
}

Result<Deadlines> launch_limits(const Deadlines& base, const RunArgs& args) {
  if (args.stop.stop_requested()) {
    return Status(StatusCode::cancelled, "the run was cancelled before it reached the device");
  }
  Deadlines out = base;
  out.stop = args.stop;
  out.stall_report = args.stall_report;
  return out;
}

namespace {
std::string shape_text(uint32_t dtype, uint32_t ndim, const int64_t* shape) {
  std::string out = fmt::format("dtype {} shape (", dtype);
  for (uint32_t d = 0; d < ndim; ++d) out += fmt::format("{}{}", d ? ", " : "", shape[d]);
  return out + ")";
}
}  // namespace

Status check_tensor_args(const RunArgs& args) {
  for (const auto& [name, ref] : args.device_inputs) {
    if (args.tensors.contains(name)) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("tensor argument '{}' is both a host and a device tensor", name));
    }
  }
  for (const auto& [name, target] : args.device_outputs) {
    for (const auto& [input, ref] : args.device_inputs) {
      const bool overlap =
          target.addr < ref.addr + ref.bytes && ref.addr < target.addr + target.bytes;
      if (overlap) {
        return Status(StatusCode::invalid_argument,
                      fmt::format("output '{}' overlaps device input '{}'", name, input));
      }
    }
  }
  return Status::Ok();
}

Result<LaunchTensor> placed_tensor(Device& device, const std::string& name,
                                   const DeviceTensorRef& ref) {
  auto fail = [&](std::string why) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("device tensor argument '{}': {}", name, why));
  };
  if (ref.shape.empty() || ref.shape.size() > CHIPRT_MAX_DIMS) {
    return fail(fmt::format("{} dims, not 1..{}", ref.shape.size(), CHIPRT_MAX_DIMS));
  }
  LaunchTensor t;
  t.name = name;
  t.dtype = ref.dtype;
  t.ndim = static_cast<uint32_t>(ref.shape.size());
  std::copy(ref.shape.begin(), ref.shape.end(), t.shape.begin());
  auto elements = dense_elements(t.dtype, t.ndim, t.shape.data());
  if (!elements.ok()) return fail(std::string(elements.status().message()));
  t.bytes = *elements * chiprt_dtype_size(t.dtype);
  if (ref.bytes != t.bytes)
    return fail(fmt::format("{} bytes for {} expected", ref.bytes, t.bytes));
  if (ref.device != nullptr && ref.device != &device) return fail("it lives on another device");
  if (device.host_pointer(ref.addr, t.bytes) == nullptr) {
    return fail(fmt::format("[0x{:x}, +{}) is not inside a live allocation", ref.addr, t.bytes));
  }
  t.addr = ref.addr;
  return t;
}

CheckReport launch_check_report(const LaunchResult& result) {
  CheckReport out;
  out.schedules = 1;
  out.findings = result.findings;
  out.dropped = result.findings_dropped;
  return out;
}

Status check_output_target(const std::string& name, uint32_t dtype, uint32_t ndim,
                           const int64_t* shape, const DeviceTensorRef& target) {
  const bool same = target.dtype == dtype && target.shape.size() == ndim &&
                    std::equal(target.shape.begin(), target.shape.end(), shape);
  if (same) return Status::Ok();
  return Status(StatusCode::invalid_argument,
                fmt::format("output '{}' is {}, its device tensor is {}", name,
                            shape_text(dtype, ndim, shape),
                            shape_text(target.dtype, static_cast<uint32_t>(target.shape.size()),
                                       target.shape.data())));
}

Status deliver_outputs(Device& device, const LaunchResult& result, const RunArgs& args,
                       std::map<std::string, HostTensor>& out) {
  for (const auto& requested : args.device_outputs) {
    const std::string& name = requested.first;  // a plain name: lambdas capture no bindings
    const bool produced = std::any_of(result.outputs.begin(), result.outputs.end(),
                                      [&](const LaunchTensor& t) { return t.name == name; });
    if (!produced) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("device output '{}' names no output of the run", name));
    }
  }
  for (const LaunchTensor& t : result.outputs) {
    auto it = args.device_outputs.find(t.name);
    if (it == args.device_outputs.end()) {
      HostTensor host;
      host.dtype = t.dtype;
      host.shape.assign(t.shape.begin(), t.shape.begin() + t.ndim);
      host.data.resize(t.bytes);
      CHIPRT_RETURN_IF_ERROR(device.copy_from_device(host.data, t.addr));
      out[t.name] = std::move(host);
      continue;
    }
    CHIPRT_RETURN_IF_ERROR(
        check_output_target(t.name, t.dtype, t.ndim, t.shape.data(), it->second));
    CHIPRT_ASSIGN_OR_RETURN(LaunchTensor dst, placed_tensor(device, t.name, it->second));
    const std::byte* src = device.host_pointer(t.addr, t.bytes);
    if (src == nullptr) {
      return Status(StatusCode::internal, fmt::format("output '{}' left device memory", t.name));
    }
    CHIPRT_RETURN_IF_ERROR(device.copy_to_device(dst.addr, ByteSpan(src, t.bytes)));
  }
  return Status::Ok();
}

}  // namespace chiprt::runtime

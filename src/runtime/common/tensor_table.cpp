#include "runtime/common/tensor_table.h"

#include <fmt/format.h>

#include <algorithm>

namespace chiprt::runtime {

Result<uint64_t> dense_elements(uint32_t dtype, uint32_t ndim, const int64_t* shape) {
  if (chiprt_dtype_size(dtype) == 0) {
    return Status(StatusCode::invalid_argument, fmt::format("unknown dtype {}", dtype));
  }
  if (ndim < 1 || ndim > CHIPRT_MAX_DIMS || shape == nullptr) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("ndim {} not in 1..{}", ndim, CHIPRT_MAX_DIMS));
  }
  uint64_t n = 1;
  constexpr uint64_t kLimit = uint64_t{1} << 40;  // far beyond any device; keeps sums exact
  for (uint32_t d = 0; d < ndim; ++d) {
    if (shape[d] < 1 || static_cast<uint64_t>(shape[d]) > kLimit / n) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("shape dim {} = {} is empty or too large", d, shape[d]));
    }
    n *= static_cast<uint64_t>(shape[d]);
  }
  return n;
}

uint64_t TensorTable::add_record(TensorRecord record) {
  const uint64_t handle = kHandleBase + records_.size();
  if (record.kind == TensorKind::input) inputs_[record.name] = handle;
  if (record.kind == TensorKind::output) outputs_[record.name] = handle;
  records_.push_back(std::move(record));
  return handle;
}

Result<TensorRecord> input_record(const std::string& name, const HostTensor& host) {
  CHIPRT_ASSIGN_OR_RETURN(TensorRecord r, input_record_of_shape(name, host));
  if (host.data.size() != r.bytes) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("tensor argument '{}': {} data bytes for {} expected", name,
                              host.data.size(), r.bytes));
  }
  return r;
}

Result<TensorRecord> input_record_of_shape(const std::string& name, const HostTensor& host) {
  auto fail = [&](std::string why) {
    return Status(StatusCode::invalid_argument, fmt::format("tensor argument '{}': {}", name, why));
  };
  if (host.shape.size() > CHIPRT_MAX_DIMS) return fail("more than 4 dims");
  // A tensor has 1..4 dims; silently widening shape () to (1,) would hand back a different shape.
  if (host.shape.empty()) return fail(std::string(kZeroDimAdvice));
  const std::vector<int64_t>& shape = host.shape;
  auto elements = dense_elements(host.dtype, static_cast<uint32_t>(shape.size()), shape.data());
  if (!elements.ok()) return fail(std::string(elements.status().message()));
  TensorRecord r;
  r.kind = TensorKind::input;
  r.name = name;
  r.dtype = host.dtype;
  r.ndim = static_cast<uint32_t>(shape.size());
  for (uint32_t d = 0; d < r.ndim; ++d) r.shape[d] = shape[d];
  r.elements = *elements;
  r.bytes = r.elements * chiprt_dtype_size(r.dtype);
  return r;
}

Status TensorTable::add_inputs(const RunArgs& args) {
  for (const auto& [name, host] : args.tensors) {
    CHIPRT_ASSIGN_OR_RETURN(TensorRecord r, input_record(name, host));
    CHIPRT_ASSIGN_OR_RETURN(r.memory, device_.allocate(r.bytes, MemoryTag::tensor));
    CHIPRT_RETURN_IF_ERROR(device_.copy_to_device(r.memory.addr(), host.data));
    r.host = device_.host_pointer(r.memory.addr(), r.bytes);
    add_record(std::move(r));
  }
  return Status::Ok();
}

Status TensorTable::add_placed_input(const LaunchTensor& input) {
  TensorRecord r;
  {
    CHIPRT_ASSIGN_OR_RETURN(uint64_t elements,
                            dense_elements(input.dtype, input.ndim, input.shape.data()));
    r.kind = TensorKind::input;
    r.name = input.name;
    r.dtype = input.dtype;
    r.ndim = input.ndim;
    for (uint32_t d = 0; d < r.ndim; ++d) r.shape[d] = input.shape[d];
    r.elements = elements;
    r.bytes = elements * chiprt_dtype_size(input.dtype);
  }
  r.host = device_.host_pointer(input.addr, r.bytes);
  if (r.host == nullptr || r.bytes != input.bytes) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("input '{}' of {} bytes at 0x{:x} is not in device memory",
                              input.name, input.bytes, input.addr));
  }
  add_record(std::move(r));
  return Status::Ok();
}

Result<uint64_t> TensorTable::add_output(const std::string& name, uint32_t dtype, uint32_t ndim,
                                         const int64_t* shape) {
  if (outputs_.contains(name)) {
    return Status(StatusCode::invalid_argument, fmt::format("output '{}' allocated twice", name));
  }
  CHIPRT_ASSIGN_OR_RETURN(uint64_t elements, dense_elements(dtype, ndim, shape));
  TensorRecord r;
  r.kind = TensorKind::output;
  r.name = name;
  r.dtype = dtype;
  r.ndim = ndim;
  for (uint32_t d = 0; d < ndim; ++d) r.shape[d] = shape[d];
  r.elements = elements;
  r.bytes = elements * chiprt_dtype_size(dtype);
  CHIPRT_ASSIGN_OR_RETURN(r.memory, device_.allocate(r.bytes, MemoryTag::tensor));
  r.host = device_.host_pointer(r.memory.addr(), r.bytes);
  return add_record(std::move(r));
}

uint64_t TensorTable::add_intermediate(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                                       uint64_t elements, uint64_t heap_offset, std::byte* host) {
  TensorRecord r;
  r.kind = TensorKind::intermediate;
  r.dtype = dtype;
  r.ndim = ndim;
  for (uint32_t d = 0; d < ndim; ++d) r.shape[d] = shape[d];
  r.elements = elements;
  r.bytes = elements * chiprt_dtype_size(dtype);
  r.heap_offset = heap_offset;
  r.host = host;
  return add_record(std::move(r));
}

std::optional<uint64_t> TensorTable::input(const std::string& name) const {
  auto it = inputs_.find(name);
  if (it == inputs_.end()) return std::nullopt;
  return it->second;
}

TensorRecord* TensorTable::find(uint64_t handle) {
  if (handle < kHandleBase || handle - kHandleBase >= records_.size()) return nullptr;
  TensorRecord* r = &records_[handle - kHandleBase];
  return r->live ? r : nullptr;
}

chiprt_tensor_t TensorTable::full_view(uint64_t handle) {
  const TensorRecord& r = records_[handle - kHandleBase];
  chiprt_tensor_t v{};
  v.base = handle;
  v.dtype = r.dtype;
  v.ndim = r.ndim;
  int64_t stride = 1;
  for (int d = static_cast<int>(r.ndim) - 1; d >= 0; --d) {
    v.shape[d] = r.shape[d];
    v.strides[d] = stride;
    stride *= r.shape[d];
  }
  return v;
}

Status TensorTable::read_outputs(std::map<std::string, HostTensor>& out) const {
  for (const auto& [name, handle] : outputs_) {
    const TensorRecord& r = records_[handle - kHandleBase];
    HostTensor host;
    host.dtype = r.dtype;
    host.shape.assign(r.shape, r.shape + r.ndim);
    host.data.resize(r.bytes);
    CHIPRT_RETURN_IF_ERROR(device_.copy_from_device(host.data, r.memory.addr()));
    out[name] = std::move(host);
  }
  return Status::Ok();
}

std::vector<LaunchTensor> TensorTable::disown_outputs() {
  std::vector<LaunchTensor> out;
  for (const auto& [name, handle] : outputs_) {
    TensorRecord& r = records_[handle - kHandleBase];
    LaunchTensor t;
    t.name = name;
    t.dtype = r.dtype;
    t.ndim = r.ndim;
    for (uint32_t d = 0; d < r.ndim; ++d) t.shape[d] = r.shape[d];
    t.bytes = r.bytes;
    t.addr = r.memory.disown();
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace chiprt::runtime

#include "runtime/hbg/graph_recorder.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "runtime/common/argument_messages.h"
#include "runtime/common/heap.h"
#include "runtime/common/task_check.h"

namespace chiprt::runtime {

GraphRecorder::GraphRecorder(Device& device, KernelTable kernels, std::string name,
                             const RunArgs& args, uint64_t heap_limit, bool check_input_bytes)
    : kernels_(std::move(kernels)),
      name_(std::move(name)),
      args_(args),
      check_input_bytes_(check_input_bytes),
      table_(device),
      intermediates_(heap_limit, "hbg") {}

int32_t GraphRecorder::reject(int32_t code, Status why) {
  last_error_ = why.to_string();
  if (code != CHIPRT_ORCH_NOT_FOUND && failure_.ok()) failure_ = std::move(why);
  return code;
}

uint64_t GraphRecorder::add_tensor(TensorRecord record, GraphTensor tensor) {
  tensor.kind = record.kind;
  tensor.name = record.name;
  tensor.dtype = record.dtype;
  tensor.ndim = record.ndim;
  for (uint32_t d = 0; d < CHIPRT_MAX_DIMS; ++d) tensor.shape[d] = record.shape[d];
  tensor.bytes = record.bytes;
  graph_.tensors.push_back(std::move(tensor));
  return table_.add_record(std::move(record));
}

Result<RecordedGraph> GraphRecorder::record(const Drive& drive) {
  CHIPRT_ASSIGN_OR_RETURN(const int32_t rc, drive(*this));
  if (!failure_.ok()) return failure_;
  graph_.heap_bytes = intermediates_.peak();
  if (rc != 0) {
    return Status(StatusCode::orchestration_failed,
                  fmt::format("orchestration entry returned {}{}{}", rc,
                              last_error_.empty() ? "" : "; last error: ", last_error_));
  }
  // Successor lists (CSR) from the recorded dependencies, which came in task order: each
  // task's successors come out ascending.
  std::vector<uint32_t> next(graph_.tasks.size(), 0);
  for (const auto& [dep, task] : edges_) ++graph_.tasks[dep].successor_count;
  uint32_t first = 0;
  for (uint32_t t = 0; t < graph_.tasks.size(); ++t) {
    graph_.tasks[t].first_successor = next[t] = first;
    first += graph_.tasks[t].successor_count;
  }
  graph_.successors.resize(edges_.size());
  for (const auto& [dep, task] : edges_) graph_.successors[next[dep]++] = task;
  return std::move(graph_);
}

int32_t GraphRecorder::get_tensor_arg(const char* name, chiprt_tensor_t* out) {
  if (auto handle = table_.input(name)) {
    *out = table_.full_view(*handle);
    return CHIPRT_ORCH_OK;
  }
  auto it = args_.tensors.find(name);
  if (it == args_.tensors.end()) {
    graph_.key.tensors.push_back({name, false, 0, {}});
    return reject(CHIPRT_ORCH_NOT_FOUND,
                  missing_tensor_argument(name, args_.scalars.contains(name)));
  }
  const HostTensor& host = it->second;
  graph_.key.tensors.push_back({name, true, host.dtype, host.shape});
  auto record = check_input_bytes_ ? input_record(name, host) : input_record_of_shape(name, host);
  if (!record.ok()) return reject(CHIPRT_ORCH_INVALID, record.status());
  TensorRecord r = std::move(record).value();
  *out = table_.full_view(add_tensor(std::move(r), GraphTensor{}));
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::get_scalar_arg(const char* name, double* out) {
  auto it = args_.scalars.find(name);
  if (scalars_read_.insert(name).second) {
    graph_.key.scalars.push_back(
        {name, it == args_.scalars.end() ? std::nullopt : std::optional<double>(it->second)});
  }
  if (it == args_.scalars.end()) return CHIPRT_ORCH_NOT_FOUND;
  *out = it->second;
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                                    chiprt_tensor_t* out) {
  auto elements = dense_elements(dtype, ndim, shape);
  if (!elements.ok()) return reject(CHIPRT_ORCH_INVALID, elements.status());
  const uint64_t bytes = *elements * chiprt_dtype_size(dtype);
  if (Status fits = intermediates_.check_size(bytes); !fits.ok()) {
    return reject(CHIPRT_ORCH_EXHAUSTED, std::move(fits));
  }
  // Nothing frees heap space while recording but closing scopes: no waiting, unlike tmr.
  const std::optional<uint64_t> offset = intermediates_.allocate(bytes);
  if (!offset) return reject(CHIPRT_ORCH_EXHAUSTED, intermediates_.held_by_open_scopes(bytes));
  TensorRecord r;
  r.kind = TensorKind::intermediate;
  r.dtype = dtype;
  r.ndim = ndim;
  for (uint32_t d = 0; d < ndim; ++d) r.shape[d] = shape[d];
  r.elements = *elements;
  r.bytes = bytes;
  r.heap_offset = *offset;
  GraphTensor t{};
  t.heap_offset = *offset;
  const uint64_t handle = add_tensor(std::move(r), std::move(t));
  intermediates_.enter(*table_.find(handle));
  reuse_.placed(*offset, Heap::block_size(bytes));
  *out = table_.full_view(handle);
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::alloc_output(const char* name, uint32_t dtype, uint32_t ndim,
                                    const int64_t* shape, chiprt_tensor_t* out) {
  for (const GraphTensor& t : graph_.tensors) {
    if (t.kind == TensorKind::output && t.name == name) {
      return reject(CHIPRT_ORCH_INVALID, Status(StatusCode::invalid_argument,
                                                fmt::format("output '{}' allocated twice", name)));
    }
  }
  auto elements = dense_elements(dtype, ndim, shape);
  if (!elements.ok()) return reject(CHIPRT_ORCH_INVALID, elements.status());
  TensorRecord r;
  r.kind = TensorKind::output;
  r.name = name;
  r.dtype = dtype;
  r.ndim = ndim;
  for (uint32_t d = 0; d < ndim; ++d) r.shape[d] = shape[d];
  r.elements = *elements;
  r.bytes = *elements * chiprt_dtype_size(dtype);
  *out = table_.full_view(add_tensor(std::move(r), GraphTensor{}));
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::scope_begin() {
  intermediates_.begin();
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::scope_end() {
  if (!intermediates_.nested()) {
    return reject(CHIPRT_ORCH_INVALID,
                  Status(StatusCode::orchestration_failed, "scope_end without scope_begin"));
  }
  // Its intermediates' bytes are free for later ones: their users are ordered by reuse_.
  intermediates_.end([this](TensorRecord& r) {
    reuse_.freed(r.heap_offset);
    intermediates_.release(r);
  });
  return CHIPRT_ORCH_OK;
}

int32_t GraphRecorder::submit_task(const chiprt_task_t* task) {
  if (!failure_.ok()) return CHIPRT_ORCH_FAILED;
  const uint64_t id = graph_.tasks.size();
  CheckedTask checked;
  if (Status s = check_task(*task, id, kernels_, table_, checked); !s.ok()) {
    return reject(CHIPRT_ORCH_INVALID, std::move(s));
  }
  task_accesses(checked, accesses_);
  task_deps_.clear();
  dep_kinds_.clear();
  map_.submit(id, accesses_, task_deps_, nullptr, &dep_kinds_);
  overlap_deps_.assign(task_deps_.begin(), task_deps_.end());
  order_heap_reuse(id, checked);
  for (uint64_t dep : task_deps_) {
    edges_.emplace_back(static_cast<uint32_t>(dep), static_cast<uint32_t>(id));
    // Both lists ascend; a dependency the tensormap did not give comes from heap reuse.
    auto it = std::lower_bound(overlap_deps_.begin(), overlap_deps_.end(), dep);
    const uint32_t kinds = it != overlap_deps_.end() && *it == dep
                               ? dep_kinds_[static_cast<size_t>(it - overlap_deps_.begin())]
                               : uint32_t{kMemoryReuse};
    graph_.edges.push_back({dep, id, kinds});
  }
  graph_.tasks.push_back({task->func_id, task->core_type, static_cast<uint32_t>(graph_.refs.size()),
                          checked.count, static_cast<uint32_t>(task_deps_.size()), 0, 0, 0});
  for (uint32_t i = 0; i < checked.count; ++i) graph_.refs.push_back(view_index(checked.params[i]));
  return CHIPRT_ORCH_OK;
}

uint32_t GraphRecorder::view_index(const chiprt_param_t& param) {
  auto bytes = [](const chiprt_param_t& p) {
    return std::string_view(reinterpret_cast<const char*>(&p), sizeof p);
  };
  if (auto it = view_index_.find(bytes(param)); it != view_index_.end()) return it->second;
  const auto index = static_cast<uint32_t>(graph_.views.size());
  graph_.views.push_back(param);
  view_keys_.push_back(param);
  view_index_.emplace(bytes(view_keys_.back()), index);
  return index;
}

void GraphRecorder::order_heap_reuse(uint64_t task, const CheckedTask& checked) {
  const size_t before = task_deps_.size();
  for (uint32_t i = 0; i < checked.count; ++i) {
    const TensorRecord* r = checked.records[i];
    if (r != nullptr && r->kind == TensorKind::intermediate) {
      reuse_.add_dependencies(r->heap_offset, task_deps_);
    }
  }
  for (uint32_t i = 0; i < checked.count; ++i) {
    const TensorRecord* r = checked.records[i];
    if (r == nullptr || r->kind != TensorKind::intermediate) continue;
    const chiprt_tensor_t& view = checked.params[i].tensor;
    const chiprt_tensor_t whole = table_.full_view(view.base);
    const bool whole_write = checked.params[i].kind != CHIPRT_PARAM_INPUT && view.offset == 0 &&
                             view.ndim == whole.ndim &&
                             std::equal(view.shape, view.shape + view.ndim, whole.shape) &&
                             std::equal(view.strides, view.strides + view.ndim, whole.strides);
    reuse_.touched(r->heap_offset, task, whole_write);
  }
  if (task_deps_.size() == before) return;
  std::sort(task_deps_.begin(), task_deps_.end());
  task_deps_.erase(std::unique(task_deps_.begin(), task_deps_.end()), task_deps_.end());
}

void GraphRecorder::log(const char* message) {
  spdlog::info("[callable '{}', host] {}", name_, message);
}

}  // namespace chiprt::runtime

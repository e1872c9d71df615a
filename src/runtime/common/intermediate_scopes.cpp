#include "runtime/common/intermediate_scopes.h"

#include <fmt/format.h>

namespace chiprt::runtime {

IntermediateScopes::IntermediateScopes(uint64_t heap_bytes, std::string runtime)
    : heap_(heap_bytes), runtime_(std::move(runtime)), scopes_(1) {}  // the implicit outer scope

Status IntermediateScopes::check_size(uint64_t bytes) const {
  if (Heap::block_size(bytes) <= heap_.capacity()) return Status::Ok();
  return Status(StatusCode::resource_exhausted,
                fmt::format("an intermediate tensor of {} bytes can never fit the {} heap limit "
                            "of {} bytes; raise WorkerOptions::heap_bytes (chiprt run "
                            "--heap-bytes)",
                            bytes, runtime_, heap_.capacity()));
}

Status IntermediateScopes::held_by_open_scopes(uint64_t bytes) const {
  return Status(StatusCode::resource_exhausted,
                fmt::format("the {} heap limit of {} bytes is held by intermediates of open "
                            "scopes ({} bytes used) and {} more bytes can never fit; close "
                            "scopes sooner or raise WorkerOptions::heap_bytes (chiprt run "
                            "--heap-bytes)",
                            runtime_, heap_.capacity(), heap_.used(), bytes));
}

void IntermediateScopes::enter(TensorRecord& record) {
  record.scope_open = true;
  scopes_.back().push_back(&record);
}

void IntermediateScopes::release(TensorRecord& record) {
  if (!record.live) return;
  heap_.free(record.heap_offset, record.bytes);
  record.live = false;
}

}  // namespace chiprt::runtime

// IntermediateScopes: intermediate tensors of one tmr run or one hbg recording, placed in the
// worker's heap and grouped by the orchestration's scopes. One implementation for both runtimes:
// the size check and its message, first-fit placement (Heap, 64-byte blocks) and the scope stack
// (the implicit outer scope plus one per scope_begin).
//
// The heap is one device buffer of `heap_bytes` (see HeapPool); a placed intermediate is an
// offset into it, so intermediates never allocate device memory of their own. When a record's
// blocks are freed is the runtime's choice: tmr once its scope closed and no task in flight uses
// it, hbg as soon as its scope closes (the recorder orders the later users of those bytes, see
// HeapReuseOrder).
//
// Not thread-safe: the owner guards it (tmr: its mutex; hbg: the recording thread only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chiprt/status.h"
#include "runtime/common/heap.h"
#include "runtime/common/tensor_table.h"

namespace chiprt::runtime {

class IntermediateScopes {
 public:
  // `runtime` names the runtime in messages ("tmr", "hbg").
  IntermediateScopes(uint64_t heap_bytes, std::string runtime);

  // resource_exhausted naming the limit when an intermediate of `bytes` can never fit.
  Status check_size(uint64_t bytes) const;
  // The offset of a block for `bytes`, or nullopt while the free space cannot hold it.
  std::optional<uint64_t> allocate(uint64_t bytes) { return heap_.allocate(bytes); }
  // resource_exhausted naming the limit: `bytes` more do not fit beside what open scopes hold.
  Status held_by_open_scopes(uint64_t bytes) const;

  // Enters `record` (already at its heap_offset) into the innermost scope; marks it scope_open.
  void enter(TensorRecord& record);
  void begin() { scopes_.emplace_back(); }
  bool has_open_scope() const { return !scopes_.empty(); }
  bool nested() const { return scopes_.size() > 1; }
  // Closes the innermost scope: each of its records loses scope_open, then `closed(record)` says
  // what happens to it (release() it now, or later).
  template <typename Closed>
  void end(Closed&& closed) {
    std::vector<TensorRecord*> doomed = std::move(scopes_.back());
    scopes_.pop_back();
    for (TensorRecord* r : doomed) {
      r->scope_open = false;
      closed(*r);
    }
  }
  // Frees the record's blocks; the record is no longer live (its handle is refused).
  void release(TensorRecord& record);

  uint64_t capacity() const { return heap_.capacity(); }
  uint64_t used() const { return heap_.used(); }
  uint64_t peak() const { return heap_.peak(); }

 private:
  Heap heap_;
  const std::string runtime_;
  std::vector<std::vector<TensorRecord*>> scopes_;
};

}  // namespace chiprt::runtime

// The call log: how the orchestration sandbox reports what an hbg orchestration asked of the
// orchestration table, so that the host's GraphRecorder is driven by the same calls and checks
// every one itself (the host trusts no child: I13).
//
// An entry is an op byte and its arguments (what the orchestration passed, never what it got):
//   get_tensor  name str            get_scalar  name str
//   alloc_tensor dtype u32, ndim u32, shape i64 x4
//   alloc_output name str, dtype u32, ndim u32, shape i64 x4
//   scope_begin, scope_end, sync    -
//   submit      func_id u32, core u32, param count u32, params given u8,
//               then min(count, CHIPRT_MAX_TASK_PARAMS) chiprt_param_t when given
//   log         text str
// Shapes carry their first min(ndim, 4) dims (zeros after); names and lines are cut to
// sandbox::kMaxName bytes.
#pragma once

#include <chrono>

#include "chiprt/status.h"
#include "device/protocol.h"
#include "runtime/common/orch_backend.h"

namespace chiprt::runtime {

// The sandbox's side: forwards every call to `inner` (its own recorder, which answers the
// orchestration) and logs it.
class CallLogger final : public OrchBackend {
 public:
  explicit CallLogger(OrchBackend& inner) : inner_(inner) {}
  int32_t get_tensor_arg(const char* name, chiprt_tensor_t* out) override;
  int32_t get_scalar_arg(const char* name, double* out) override;
  int32_t alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t alloc_output(const char* name, uint32_t dtype, uint32_t ndim, const int64_t* shape,
                       chiprt_tensor_t* out) override;
  int32_t scope_begin() override;
  int32_t scope_end() override;
  int32_t submit_task(const chiprt_task_t* task) override;
  int32_t sync() override;
  void log(const char* message) override;

  // True when the entries logged so far should be sent now.
  bool due() const;
  // The entries logged since the last take().
  std::vector<std::byte> take();

 private:
  device::protocol::WireWriter& entry(uint8_t op);
  OrchBackend& inner_;
  device::protocol::WireWriter log_;
  bool urgent_ = false;
  std::chrono::steady_clock::time_point last_take_ = std::chrono::steady_clock::now();
};

// The host's side: applies every entry of one kCalls payload to `sink`, in order. A malformed
// entry (unknown op, short payload) is an error; nothing after it is applied.
Status apply_calls(const std::byte* data, size_t size, OrchBackend& sink);

}  // namespace chiprt::runtime

#include "runtime/hbg/call_log.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>

#include "runtime/hbg/sandbox_protocol.h"

namespace chiprt::runtime {
namespace {

using device::protocol::WireReader;
using device::protocol::WireWriter;

enum Op : uint8_t {
  kGetTensor = 1,
  kGetScalar,
  kAllocTensor,
  kAllocOutput,
  kScopeBegin,
  kScopeEnd,
  kSubmit,
  kSync,
  kLog,
};

std::string_view cut(const char* text) {
  if (text == nullptr) return {};
  return std::string_view(text, strnlen(text, sandbox::kMaxName));
}

void put_shape(WireWriter& w, uint32_t dtype, uint32_t ndim, const int64_t* shape) {
  int64_t dims[CHIPRT_MAX_DIMS] = {};
  if (shape != nullptr) std::copy_n(shape, std::min(ndim, CHIPRT_MAX_DIMS), dims);
  w.put(dtype).put(ndim).put(dims);
}

}  // namespace

WireWriter& CallLogger::entry(uint8_t op) {
  return log_.put(op);
}

int32_t CallLogger::get_tensor_arg(const char* name, chiprt_tensor_t* out) {
  entry(kGetTensor).put_string(cut(name));
  return inner_.get_tensor_arg(name, out);
}

int32_t CallLogger::get_scalar_arg(const char* name, double* out) {
  entry(kGetScalar).put_string(cut(name));
  return inner_.get_scalar_arg(name, out);
}

int32_t CallLogger::alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                                 chiprt_tensor_t* out) {
  put_shape(entry(kAllocTensor), dtype, ndim, shape);
  return inner_.alloc_tensor(dtype, ndim, shape, out);
}

int32_t CallLogger::alloc_output(const char* name, uint32_t dtype, uint32_t ndim,
                                 const int64_t* shape, chiprt_tensor_t* out) {
  put_shape(entry(kAllocOutput).put_string(cut(name)), dtype, ndim, shape);
  return inner_.alloc_output(name, dtype, ndim, shape, out);
}

int32_t CallLogger::scope_begin() {
  entry(kScopeBegin);
  return inner_.scope_begin();
}

int32_t CallLogger::scope_end() {
  entry(kScopeEnd);
  return inner_.scope_end();
}

int32_t CallLogger::submit_task(const chiprt_task_t* task) {
  const bool given = task->params != nullptr;
  const uint32_t stored = given ? std::min(task->param_count, CHIPRT_MAX_TASK_PARAMS) : 0;
  WireWriter& w = entry(kSubmit).put(task->func_id).put(task->core_type).put(task->param_count);
  w.put(static_cast<uint8_t>(given));
  for (uint32_t i = 0; i < stored; ++i) w.put(task->params[i]);
  return inner_.submit_task(task);
}

int32_t CallLogger::sync() {
  entry(kSync);
  return inner_.sync();
}

void CallLogger::log(const char* message) {
  entry(kLog).put_string(cut(message));
  urgent_ = true;  // a line the user may be waiting for, maybe the last before a crash
}

bool CallLogger::due() const {
  return urgent_ || log_.size() >= sandbox::kFlushBytes ||
         std::chrono::steady_clock::now() - last_take_ >= sandbox::kFlushInterval;
}

std::vector<std::byte> CallLogger::take() {
  std::vector<std::byte> out = std::move(log_.bytes());
  log_.bytes().clear();
  urgent_ = false;
  last_take_ = std::chrono::steady_clock::now();
  return out;
}

Status apply_calls(const std::byte* data, size_t size, OrchBackend& sink) {
  WireReader r(data, size);
  size_t consumed = 0;
  auto malformed = [&](const char* what) {
    return Status(StatusCode::internal, std::string("a malformed call log entry (") + what + ")");
  };
  chiprt_tensor_t view{};
  while (r.ok() && r.position() < size) {
    const auto op = r.get<uint8_t>();
    switch (op) {
      case kGetTensor:
      case kGetScalar: {
        const std::string name = r.get_string();
        if (!r.ok()) return malformed("name");
        double value = 0;
        if (op == kGetTensor) {
          (void)sink.get_tensor_arg(name.c_str(), &view);
        } else {
          (void)sink.get_scalar_arg(name.c_str(), &value);
        }
        break;
      }
      case kAllocTensor:
      case kAllocOutput: {
        const std::string name = op == kAllocOutput ? r.get_string() : std::string();
        const auto dtype = r.get<uint32_t>();
        const auto ndim = r.get<uint32_t>();
        const auto dims = r.get<std::array<int64_t, CHIPRT_MAX_DIMS>>();
        if (!r.ok()) return malformed("allocation");
        // ndim past 4 is refused by the recorder before it reads any dim.
        if (op == kAllocTensor) {
          (void)sink.alloc_tensor(dtype, ndim, dims.data(), &view);
        } else {
          (void)sink.alloc_output(name.c_str(), dtype, ndim, dims.data(), &view);
        }
        break;
      }
      case kScopeBegin:
        (void)sink.scope_begin();
        break;
      case kScopeEnd:
        (void)sink.scope_end();
        break;
      case kSync:
        (void)sink.sync();
        break;
      case kSubmit: {
        chiprt_param_t params[CHIPRT_MAX_TASK_PARAMS];
        chiprt_task_t task{};
        task.func_id = r.get<uint32_t>();
        task.core_type = r.get<uint32_t>();
        task.param_count = r.get<uint32_t>();
        const bool given = r.get<uint8_t>() != 0;
        const uint32_t stored = given ? std::min(task.param_count, CHIPRT_MAX_TASK_PARAMS) : 0;
        for (uint32_t i = 0; i < stored; ++i) params[i] = r.get<chiprt_param_t>();
        if (!r.ok()) return malformed("task");
        task.params = given ? params : nullptr;
        (void)sink.submit_task(&task);
        break;
      }
      case kLog: {
        const std::string line = r.get_string();
        if (!r.ok()) return malformed("log line");
        sink.log(line.c_str());
        break;
      }
      default:
        return malformed("unknown op");
    }
    consumed = r.position();
  }
  if (!r.ok() || consumed != size) return malformed("short");
  return Status::Ok();
}

}  // namespace chiprt::runtime

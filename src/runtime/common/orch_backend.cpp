#include "runtime/common/orch_backend.h"

namespace chiprt::runtime {
namespace {

template <typename F>
int32_t guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    return CHIPRT_ORCH_FAILED;
  }
}

OrchBackend& self(void* ctx) {
  return *static_cast<OrchBackend*>(ctx);
}

const chiprt_orch_api_t kTable = {
    CHIPRT_ORCH_ABI_VERSION,
    sizeof(chiprt_orch_api_t),
    [](void* ctx, const char* name, chiprt_tensor_t* out) {
      return guarded(
          [&] { return name && out ? self(ctx).get_tensor_arg(name, out) : CHIPRT_ORCH_INVALID; });
    },
    [](void* ctx, const char* name, double* out) {
      return guarded(
          [&] { return name && out ? self(ctx).get_scalar_arg(name, out) : CHIPRT_ORCH_INVALID; });
    },
    [](void* ctx, uint32_t dtype, uint32_t ndim, const int64_t* shape, chiprt_tensor_t* out) {
      return guarded([&] {
        return shape && out ? self(ctx).alloc_tensor(dtype, ndim, shape, out) : CHIPRT_ORCH_INVALID;
      });
    },
    [](void* ctx, const char* name, uint32_t dtype, uint32_t ndim, const int64_t* shape,
       chiprt_tensor_t* out) {
      return guarded([&] {
        return name && shape && out ? self(ctx).alloc_output(name, dtype, ndim, shape, out)
                                    : CHIPRT_ORCH_INVALID;
      });
    },
    [](void* ctx) { return guarded([&] { return self(ctx).scope_begin(); }); },
    [](void* ctx) { return guarded([&] { return self(ctx).scope_end(); }); },
    [](void* ctx, const chiprt_task_t* task) {
      return guarded([&] { return task ? self(ctx).submit_task(task) : CHIPRT_ORCH_INVALID; });
    },
    [](void* ctx) { return guarded([&] { return self(ctx).sync(); }); },
    [](void* ctx, const char* message) {
      guarded([&] {
        if (message) self(ctx).log(message);
        return 0;
      });
    },
};

}  // namespace

const chiprt_orch_api_t* orch_api_table() {
  return &kTable;
}

int32_t call_orchestration(void* entry, OrchBackend& backend) {
  if (entry == nullptr) return CHIPRT_ORCH_FAILED;
  auto fn = reinterpret_cast<chiprt_orchestration_entry_fn>(entry);
  return fn(orch_api_table(), &backend);
}

}  // namespace chiprt::runtime

#include <fmt/format.h>

#include <atomic>
#include <shared_mutex>

#include "base/resident_memory.h"
#include "chiprt/worker.h"
#include "registry/callable_registry.h"
#include "registry/signature_check.h"
#include "runtime/check/checked_run.h"
#include "runtime/common/tensor_table.h"
#include "runtime/executor.h"
#include "runtime/hbg/orchestration_sandbox.h"

namespace chiprt {
namespace {

// Errors name a callable as people know it, by its image's name, with the id to tell apart two
// registrations of one name.
std::string running_callable(std::string_view name, CallableId id) {
  if (name.empty()) return fmt::format("running callable (id {})", id);
  return fmt::format("running callable '{}' (id {})", name, id);
}

}  // namespace

struct ChipWorker::Impl {
  Impl(std::shared_ptr<Device> dev, WorkerOptions opts)
      : device(std::move(dev)),
        options(std::move(opts)),
        executor(runtime::make_executor(*device, options)),
        own_sandbox(options.runtime == RuntimeKind::hbg && !options.orchestration_loader
                        ? orchestration_sandbox_loader()
                        : nullptr),
        pool(*device, options.runtime,
             options.loader ? options.loader
                            : device->code_loader(CodeCacheBounds{options.code_cache_entries,
                                                                  options.code_cache_bytes}),
             options.identity_hash,
             options.orchestration_loader ? options.orchestration_loader : own_sandbox),
        registry(pool) {
    pool.set_release_hook(
        [exec = executor.get()](uint64_t generation) { exec->forget(generation); });
  }

  Status check_live() const {
    if (finalized) return Status(StatusCode::failed_precondition, "the worker was finalized");
    return device->health();
  }
  // After a reset of the device (by any of its workers), registrations of the old one are gone.
  void follow_device() {
    if (device->epoch() == epoch.load(std::memory_order_acquire)) return;
    std::unique_lock lock(lifecycle);
    drop_registrations_locked();
  }
  void drop_registrations_locked() {
    const uint64_t now = device->epoch();
    if (finalized || now == epoch.load()) return;
    dropped += registry.release_all();
    epoch.store(now, std::memory_order_release);
  }

  // What run() and graph() share: with the worker live and the callable leased, its arguments
  // checked against its signature, `body(buffer)` makes the report, which gets the kernel
  // names; a failure names the callable.
  template <typename Body>
  Result<RunReport> on_leased(CallableId id, const RunArgs& args, const Body& body) {
    follow_device();
    std::shared_lock lock(lifecycle);
    CHIPRT_RETURN_IF_ERROR(check_live());
    // (`registry` here is the member: the namespace is spelled in full.)
    CHIPRT_ASSIGN_OR_RETURN(chiprt::registry::Lease lease, registry.lease(id));
    // Before the orchestration starts, on either runtime: the arguments the image says it takes.
    if (Status fits = chiprt::registry::check_run_args(lease->signature, args); !fits.ok()) {
      return std::move(fits).annotate(running_callable(lease->name, id));
    }
    Result<RunReport> report = body(lease.buffer());
    if (!report.ok()) {
      return std::move(report).status().annotate(running_callable(lease->name, id));
    }
    report->kernel_names = lease.buffer().kernel_names();
    return report;
  }

  std::shared_ptr<Device> device;
  WorkerOptions options;
  std::unique_ptr<runtime::Executor> executor;  // outlives the pool: releases notify it
  std::shared_ptr<CodeLoader> own_sandbox;      // hbg: where its orchestrations run
  registry::ChipBufferPool pool;
  registry::CallableRegistry registry;
  // Calls hold it shared; finalize holds it exclusively, so it waits for calls in flight.
  mutable std::shared_mutex lifecycle;
  bool finalized = false;
  uint64_t leaked = 0;
  uint64_t dropped = 0;
  std::atomic<uint64_t> epoch{0};  // of the device this worker's registrations live on
  std::atomic<uint64_t> runs{0};
};

Result<std::unique_ptr<ChipWorker>> ChipWorker::create(std::shared_ptr<Device> device,
                                                       WorkerOptions options) {
  if (!device) return Status(StatusCode::invalid_argument, "no device");
  if (Status started = device->start(); !started.ok()) {
    return std::move(started).annotate("starting the device");
  }
  auto impl = std::make_unique<Impl>(std::move(device), std::move(options));
  impl->epoch = impl->device->epoch();
  return std::unique_ptr<ChipWorker>(new ChipWorker(std::move(impl)));
}

ChipWorker::ChipWorker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChipWorker::~ChipWorker() {
  finalize();
}

Result<CallableId> ChipWorker::register_callable(ByteSpan image) {
  impl_->follow_device();
  std::shared_lock lock(impl_->lifecycle);
  CHIPRT_RETURN_IF_ERROR(impl_->check_live());
  return impl_->registry.register_image(image);
}

Status ChipWorker::unregister_callable(CallableId id) {
  impl_->follow_device();
  std::shared_lock lock(impl_->lifecycle);
  CHIPRT_RETURN_IF_ERROR(impl_->check_live());
  return impl_->registry.unregister(id);
}

Result<RunReport> ChipWorker::run(CallableId id, const RunArgs& args) {
  return impl_->on_leased(id, args, [&](const registry::ChipBuffer& buffer) {
    ++impl_->runs;
    const Checks checks = args.checks.value_or(impl_->options.checks);
    runtime::Executor& executor = *impl_->executor;
    auto once = [&](const RunArgs& a, const LaunchCheck& check, std::vector<CheckWrite>* writes) {
      return executor.run(buffer, a, check, writes);
    };
    return checks.any() ? runtime::run_checked(*impl_->device, checks, args, once)
                        : once(args, LaunchCheck{}, nullptr);
  });
}

Result<RunReport> ChipWorker::graph(CallableId id, const RunArgs& args) {
  return impl_->on_leased(id, args, [&](const registry::ChipBuffer& buffer) {
    return impl_->executor->graph(buffer, args);
  });
}

void ChipWorker::finalize() {
  std::unique_lock lock(impl_->lifecycle);
  if (impl_->finalized) return;
  impl_->finalized = true;
  impl_->leaked = impl_->registry.release_all();
  impl_->executor->release_memory();
  if (impl_->own_sandbox) {
    if (auto sandbox = runtime::sandbox_of(*impl_->own_sandbox)) sandbox->stop();
  }
}

void ChipWorker::release_idle_memory() {
  impl_->executor->release_memory();
}

Status ChipWorker::reset() {
  {
    std::shared_lock lock(impl_->lifecycle);
    if (impl_->finalized) {
      return Status(StatusCode::failed_precondition, "the worker was finalized");
    }
  }
  // First the device (runs in flight on it fail at once), then the registrations of the old one.
  Status restarted = impl_->device->reset();
  std::unique_lock lock(impl_->lifecycle);
  impl_->drop_registrations_locked();
  return restarted;
}

uint64_t DeviceTensor::element_count() const {
  uint64_t n = 1;
  for (int64_t d : shape_) n *= static_cast<uint64_t>(d);
  return n;
}

DeviceTensorRef DeviceTensor::ref() const {
  return DeviceTensorRef{dtype_, shape_, memory_.addr(), bytes_, device_.get()};
}

Result<DeviceTensor> ChipWorker::alloc_tensor(uint32_t dtype, std::vector<int64_t> shape) {
  if (shape.size() > CHIPRT_MAX_DIMS) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("a device tensor has 1..{} dims, not {}", CHIPRT_MAX_DIMS, shape.size()));
  }
  auto elements = runtime::dense_elements(dtype, static_cast<uint32_t>(shape.size()), shape.data());
  if (!elements.ok()) return std::move(elements).status().annotate("allocating a device tensor");
  std::shared_lock lock(impl_->lifecycle);
  if (impl_->finalized) return Status(StatusCode::failed_precondition, "the worker was finalized");
  DeviceTensor out;
  out.bytes_ = *elements * chiprt_dtype_size(dtype);
  CHIPRT_ASSIGN_OR_RETURN(out.memory_, impl_->device->allocate(out.bytes_, MemoryTag::tensor));
  out.device_ = impl_->device;
  out.dtype_ = dtype;
  out.shape_ = std::move(shape);
  return out;
}

Result<DeviceTensor> ChipWorker::to_device(const HostTensor& host) {
  if (host.shape.empty()) {
    return Status(StatusCode::invalid_argument, std::string(runtime::kZeroDimAdvice));
  }
  CHIPRT_ASSIGN_OR_RETURN(DeviceTensor out, alloc_tensor(host.dtype, host.shape));
  CHIPRT_RETURN_IF_ERROR(copy_to_device(out, host.data));
  return out;
}

namespace {
Status check_tensor_copy(const DeviceTensor& tensor, const Device& device, size_t bytes) {
  if (!tensor) return Status(StatusCode::invalid_argument, "the device tensor was freed");
  if (tensor.ref().device != &device) {
    return Status(StatusCode::invalid_argument, "the device tensor lives on another device");
  }
  if (bytes != tensor.bytes()) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("copy of {} bytes for a device tensor of {} bytes", bytes, tensor.bytes()));
  }
  return Status::Ok();
}
}  // namespace

Status ChipWorker::copy_to_device(const DeviceTensor& tensor, ByteSpan bytes) {
  CHIPRT_RETURN_IF_ERROR(check_tensor_copy(tensor, *impl_->device, bytes.size()));
  return impl_->device->copy_to_device(tensor.addr(), bytes);
}

Status ChipWorker::copy_from_device(const DeviceTensor& tensor, MutableByteSpan bytes) const {
  CHIPRT_RETURN_IF_ERROR(check_tensor_copy(tensor, *impl_->device, bytes.size()));
  return impl_->device->copy_from_device(bytes, tensor.addr());
}

Result<HostTensor> ChipWorker::to_host(const DeviceTensor& tensor) const {
  HostTensor out;
  out.dtype = tensor.dtype();
  out.shape = tensor.shape();
  out.data.resize(tensor.bytes());
  CHIPRT_RETURN_IF_ERROR(copy_from_device(tensor, out.data));
  return out;
}

WorkerStats ChipWorker::stats() const {
  const registry::PoolStats pool = impl_->pool.stats();
  WorkerStats out;
  {
    std::shared_lock lock(impl_->lifecycle);
    out.leaked_registrations = impl_->leaked;
    out.registrations_dropped = impl_->dropped;
  }
  out.registrations_live = impl_->registry.live();
  out.registrations_total = impl_->registry.total();
  out.distinct_buffers_live = pool.buffers_live;
  out.buffers_created = pool.buffers_created;
  out.deferred_releases = pool.deferred_releases;
  out.leased_buffers = pool.leased_buffers;
  out.refcount_histogram = pool.refcount_histogram;
  out.runs = impl_->runs;
  out.heaps = impl_->executor->heaps();
  out.heap_bytes_reserved = impl_->executor->heap_bytes_reserved();
  out.graph_cache = impl_->executor->graph_cache();
  if (impl_->own_sandbox) {
    if (auto sandbox = runtime::sandbox_of(*impl_->own_sandbox)) {
      out.sandbox.pid = sandbox->pid();
      if (out.sandbox.pid != 0) {
        const ResidentMemory memory = resident_memory(static_cast<pid_t>(out.sandbox.pid));
        out.sandbox.resident_bytes = memory.resident_bytes;
        out.sandbox.peak_resident_bytes = memory.peak_resident_bytes;
      }
    }
  }
  out.device = impl_->device->stats();
  // Counted where the code is loaded: by the device process, and by the orchestration sandbox.
  out.loads = out.device.code_loads;
  out.unloads = out.device.code_unloads;
  for (const auto& sandbox : pool.sandboxes) {
    out.loads += sandbox->loads();
    out.unloads += sandbox->unloads();
  }
  // Measured by the device: uploads into callable buffers after their one placement upload.
  out.orch_uploads = out.device.tag(MemoryTag::callable).reuploads;
  out.device_losses = out.device.losses;
  return out;
}

Result<CallableInfo> ChipWorker::callable_info(CallableId id) const {
  impl_->follow_device();
  std::shared_lock lock(impl_->lifecycle);
  CHIPRT_RETURN_IF_ERROR(impl_->check_live());
  return impl_->registry.info(id);
}

Result<std::map<uint32_t, std::string>> ChipWorker::kernel_names(CallableId id) const {
  impl_->follow_device();
  std::shared_lock lock(impl_->lifecycle);
  CHIPRT_RETURN_IF_ERROR(impl_->check_live());
  CHIPRT_ASSIGN_OR_RETURN(registry::Lease lease, impl_->registry.lease(id));
  return lease->kernel_names();
}

RuntimeKind ChipWorker::runtime() const {
  return impl_->options.runtime;
}
Device& ChipWorker::device() const {
  return *impl_->device;
}

}  // namespace chiprt

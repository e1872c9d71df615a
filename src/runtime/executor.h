// Executor: what a runtime (tmr or hbg) does with a leased callable, on the host. It prepares
// what the run reads in device memory, launches it on the device, and reads the outputs back.
// The worker owns one per (runtime, device); it is called from many threads at once.
#pragma once

#include <memory>

#include "chiprt/run.h"
#include "chiprt/worker.h"
#include "registry/chip_buffer.h"
#include "runtime/common/kernel_table.h"

namespace chiprt::runtime {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs the callable held in `buffer` (leased by the caller for the whole call), once, as
  // `check` says (see runtime/check/checked_run.h); a memchecked run's task writes go to
  // `writes` (nullable).
  virtual Result<RunReport> run(const registry::ChipBuffer& buffer, const RunArgs& args,
                                const LaunchCheck& check, std::vector<CheckWrite>* writes) = 0;
  // The task graph of one run of the callable, as a traced report (tasks, edges, orchestration
  // track): a runtime that can build it without executing kernels does (hbg: recorded, not
  // replayed; its tasks carry no times); tmr runs it.
  virtual Result<RunReport> graph(const registry::ChipBuffer& buffer, const RunArgs& args) {
    RunArgs traced = args;
    traced.trace = true;
    return run(buffer, traced, LaunchCheck{}, nullptr);
  }
  // The buffer of `generation` is being released: drop anything cached for it.
  virtual void forget(uint64_t generation) noexcept { (void)generation; }
  // Frees the device memory kept between runs that no run holds (heaps); at finalize, all of it.
  virtual void release_memory() noexcept {}
  // Device bytes of the intermediate heaps kept between runs (tagged runtime), and how many.
  virtual uint64_t heap_bytes_reserved() const { return 0; }
  virtual uint64_t heaps() const { return 0; }
  // What the runtime caches across runs (hbg: recorded graphs); zeros when nothing.
  virtual WorkerStats::GraphCache graph_cache() const { return {}; }
};

std::unique_ptr<Executor> make_executor(Device& device, const WorkerOptions& options);

// The callable's kernels as a dispatch table / as a launch names them (entries are the device
// loader's code tokens).
KernelTable kernel_table(const registry::ChipBuffer& buffer);
std::vector<LaunchKernel> launch_kernels(const registry::ChipBuffer& buffer);
Deadlines deadlines(const WorkerOptions& options);
// The limits of one launch of a run: `base` with the run's stop token; cancelled when a stop was
// requested already (the run is withdrawn before it reaches the device, which stays healthy).
Result<Deadlines> launch_limits(const Deadlines& base, const RunArgs& args);

// Device tensor arguments (RunArgs::device_inputs / device_outputs).
// Checks the names: a tensor argument is a host or a device input, never both, and an output
// target overlaps no device input.
Status check_tensor_args(const RunArgs& args);
// A device tensor argument as a launch names it, validated: a known dtype, 1..4 dims, every dim
// >= 1, bytes that match, on `device`, inside one live allocation.
Result<LaunchTensor> placed_tensor(Device& device, const std::string& name,
                                   const DeviceTensorRef& ref);
// What a checked launch's device found (its memcheck findings), for RunReport::checks.
CheckReport launch_check_report(const LaunchResult& result);
// invalid_argument unless output `name` of (dtype, ndim, shape) fits the caller's target.
Status check_output_target(const std::string& name, uint32_t dtype, uint32_t ndim,
                           const int64_t* shape, const DeviceTensorRef& target);
// Delivers each launched output: into its RunArgs::device_outputs target (one copy inside
// device memory), or back to the host. Fails if a target names no output of the run.
Status deliver_outputs(Device& device, const LaunchResult& result, const RunArgs& args,
                       std::map<std::string, HostTensor>& out);

}  // namespace chiprt::runtime

#include "runtime/tmr/tmr_run.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/common/argument_messages.h"
#include "runtime/common/task_check.h"

namespace chiprt::runtime {

TmrRun::TmrRun(Device& memory, CorePool& cores, TmrLaunch launch)
    : GraphRun(cores, launch.limits.ring_slots, Mode::dynamic, launch.trace),
      device_(memory),
      launch_(std::move(launch)),
      tensors_(memory),
      ring_(launch_.limits.ring_slots),
      intermediates_(launch_.limits.heap_bytes, "tmr") {
  if (launch_.check.serial) {
    if (launch_.check.memcheck || launch_.check.poison != 0) {
      checker_ = std::make_unique<TaskChecker>(launch_.device_memory, launch_.check.memcheck,
                                               launch_.check.poison);
    }
    check_with(checker_.get(), launch_.check.seed);
  }
}

TmrRun::~TmrRun() = default;

int32_t TmrRun::reject(int32_t code, Status why) {
  last_error_ = why.to_string();
  if (code != CHIPRT_ORCH_NOT_FOUND) fail(std::move(why));
  return code;
}

Status TmrRun::prepare() {
  if (launch_.limits.heap_bytes > 0) {
    heap_ = device_.host_pointer(launch_.heap_addr, launch_.limits.heap_bytes);
    if (heap_ == nullptr) {
      return Status(StatusCode::internal,
                    fmt::format("the tmr heap of {} bytes at 0x{:x} is not in device memory",
                                launch_.limits.heap_bytes, launch_.heap_addr));
    }
  }
  for (const LaunchTensor& input : launch_.inputs) {
    CHIPRT_RETURN_IF_ERROR(tensors_.add_placed_input(input));
    if (!checker_) continue;
    const uint64_t handle = *tensors_.input(input.name);
    const TensorRecord& r = *tensors_.find(handle);
    checker_->add_tensor(handle, r.host, r.bytes, r.dtype, input.name,
                         fmt::format("argument '{}'", input.name), false);
  }
  return Status::Ok();
}

void TmrRun::orchestrate() {
  if (launch_.alone_for.count() > 0 && !checking()) {
    alone_ = true;
    alone_until_ = std::chrono::steady_clock::now() + launch_.alone_for;
    CorePool::publish_quietly(true);
  }
  ++orchestration_calls_;  // counted at the call, so the report says what happened
  set_orchestration(StallReport::Orchestration::in_user_code);
  const double entry_start = tracing() ? trace_now_us() : 0;
  orch_rc_ = call_orchestration(const_cast<void*>(launch_.orchestration), *this);
  if (tracing()) {
    span(OrchestrationSpan::entry, entry_start);
    entry_end_us_ = spans_.back().end_us;
  }
  set_orchestration(StallReport::Orchestration::finished_submitting);
  // What the orchestration submitted last is still queued: run it here while the time lasts.
  while (alone_ && std::chrono::steady_clock::now() < alone_until_ && help_cores(kHelpChain)) {
  }
  stop_alone();
  if (checking()) {  // the rest of the schedule
    while (help_cores(1)) {
    }
  }
  try {
    std::lock_guard lock(mutex_);
    while (intermediates_.has_open_scope()) end_scope_locked();
  } catch (const std::exception& e) {  // close() must still run, or the host waits forever
    fail(Status(StatusCode::internal, fmt::format("closing scopes threw: {}", e.what())));
  }
  close();  // the host may destroy this run as soon as the last task completes: touch nothing after
}

Result<LaunchResult> TmrRun::result() {
  if (Status executed = failure(); !executed.ok()) return executed;
  if (orch_rc_ != 0) {
    return Status(StatusCode::orchestration_failed,
                  fmt::format("orchestration entry returned {}{}{}", orch_rc_,
                              last_error_.empty() ? "" : "; last error: ", last_error_));
  }
  LaunchResult report;
  report.tasks = next_task_;
  report.peak_ring_occupancy = ring_.peak();
  report.peak_heap_bytes = intermediates_.peak();
  report.orchestration_calls = orchestration_calls_;
  report.trace = take_trace();
  if (tracing()) {
    for (TaskTrace& t : report.trace) {
      if (t.task_id < submitted_us_.size()) t.submit_us = submitted_us_[t.task_id];
    }
    double last_end = entry_end_us_;
    for (const TaskTrace& t : report.trace) last_end = std::max(last_end, t.end_us);
    if (last_end > entry_end_us_) {
      spans_.push_back({OrchestrationSpan::drain, 0, entry_end_us_, last_end});
    }
    report.edges = std::move(trace_edges_);
    report.orchestration = std::move(spans_);
  }
  report.outputs = tensors_.disown_outputs();
  if (checker_) {
    report.findings = checker_->take_findings();
    report.findings_dropped = checker_->dropped();
    report.writes = checker_->take_writes();
  }
  return report;
}

void TmrRun::span(OrchestrationSpan::Kind kind, double start_us, uint64_t task) {
  if (tracing()) spans_.push_back({kind, task, start_us, trace_now_us()});
}

int32_t TmrRun::get_tensor_arg(const char* name, chiprt_tensor_t* out) {
  note_progress();
  std::lock_guard lock(mutex_);
  auto handle = tensors_.input(name);
  if (!handle) {
    return reject(CHIPRT_ORCH_NOT_FOUND,
                  missing_tensor_argument(name, launch_.scalars.contains(name)));
  }
  *out = tensors_.full_view(*handle);
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::get_scalar_arg(const char* name, double* out) {
  note_progress();
  auto it = launch_.scalars.find(name);
  if (it == launch_.scalars.end()) return CHIPRT_ORCH_NOT_FOUND;
  *out = it->second;
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::alloc_tensor(uint32_t dtype, uint32_t ndim, const int64_t* shape,
                             chiprt_tensor_t* out) {
  note_progress();
  if (failed()) return CHIPRT_ORCH_FAILED;
  auto elements = dense_elements(dtype, ndim, shape);
  if (!elements.ok()) return reject(CHIPRT_ORCH_INVALID, elements.status());
  const uint64_t bytes = *elements * chiprt_dtype_size(dtype);
  if (Status fits = intermediates_.check_size(bytes); !fits.ok()) {
    return reject(CHIPRT_ORCH_EXHAUSTED, std::move(fits));
  }
  made_intermediates_ = true;  // from now on submit_task checks tasks under the lock
  std::unique_lock lock(mutex_);
  std::optional<uint64_t> offset;
  const double wait_start = tracing() ? trace_now_us() : 0;
  bool waited = false;
  // Published once per wait (not per pass), and only when there is one.
  bool published = false;
  struct BackInUserCode {
    TmrRun& run;
    bool& waited;
    ~BackInUserCode() {
      if (waited) run.set_orchestration(StallReport::Orchestration::in_user_code);
    }
  } back{*this, published};
  while (!(offset = intermediates_.allocate(bytes))) {
    waited = true;
    if (!published) {
      published = true;
      set_orchestration(StallReport::Orchestration::heap_full);
    }
    if (failed()) return CHIPRT_ORCH_FAILED;
    if (help_while_waiting(lock)) continue;
    waiting_ = Wait::any;  // before checking in_flight: see waiting_
    if (ring_.in_flight() == 0) {
      // Nothing in flight can free anything: what is held belongs to open scopes.
      waiting_ = Wait::none;
      Status held = intermediates_.held_by_open_scopes(bytes);
      lock.unlock();
      return reject(CHIPRT_ORCH_EXHAUSTED, std::move(held));
    }
    progress_.wait(lock);
    waiting_ = Wait::none;
  }
  if (waited) span(OrchestrationSpan::heap, wait_start);
  const uint64_t handle =
      tensors_.add_intermediate(dtype, ndim, shape, *elements, *offset, heap_ + *offset);
  intermediates_.enter(*tensors_.find(handle));
  *out = tensors_.full_view(handle);
  const uint64_t ordinal = intermediates_made_++;
  if (checker_) {
    checker_->add_tensor(
        handle, heap_ + *offset, bytes, dtype, fmt::format("intermediate {}", ordinal),
        fmt::format("intermediate {} (alloc_tensor call {})", ordinal, ordinal), true);
  }
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::alloc_output(const char* name, uint32_t dtype, uint32_t ndim, const int64_t* shape,
                             chiprt_tensor_t* out) {
  note_progress();
  if (failed()) return CHIPRT_ORCH_FAILED;
  std::unique_lock lock(mutex_);
  auto handle = tensors_.add_output(name, dtype, ndim, shape);
  if (!handle.ok()) {
    lock.unlock();
    return reject(CHIPRT_ORCH_INVALID, std::move(handle).status().annotate("alloc_output"));
  }
  *out = tensors_.full_view(*handle);
  if (checker_) {
    const TensorRecord& r = *tensors_.find(*handle);
    checker_->add_tensor(*handle, r.host, r.bytes, r.dtype, name, fmt::format("output '{}'", name),
                         true);
  }
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::scope_begin() {
  std::lock_guard lock(mutex_);
  intermediates_.begin();
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::scope_end() {
  std::unique_lock lock(mutex_);
  if (!intermediates_.nested()) {
    lock.unlock();
    return reject(CHIPRT_ORCH_INVALID,
                  Status(StatusCode::orchestration_failed, "scope_end without scope_begin"));
  }
  end_scope_locked();
  return CHIPRT_ORCH_OK;
}

void TmrRun::end_scope_locked() {
  // An intermediate still used by a task in flight is released when that task retires.
  intermediates_.end([this](TensorRecord& r) {
    if (r.users == 0) intermediates_.release(r);
  });
}

int32_t TmrRun::submit_task(const chiprt_task_t* task) {
  note_progress();
  if (failed()) return CHIPRT_ORCH_FAILED;
  const uint64_t id = next_task_;
  if (tracing()) {
    const double start = trace_now_us();
    const int32_t rc = submit_traced(*task, id, start);
    span(OrchestrationSpan::submit, start, id);
    return rc;
  }
  return submit_untraced(*task, id);
}

int32_t TmrRun::submit_traced(const chiprt_task_t& task, uint64_t id, double start_us) {
  // Recorded first: a task may start (and be traced) before its submit returns.
  if (submitted_us_.size() <= id) submitted_us_.resize(id + 1);
  submitted_us_[id] = start_us;
  return submit_untraced(task, id);
}

int32_t TmrRun::submit_untraced(const chiprt_task_t& task, uint64_t id) {
  // Whatever throws (host allocation) fails the run, and runs before the ring slot is taken or
  // hands it back: a slot no task will retire would leave sync() and the run waiting forever.
  try {
    return submit_checked(task, id);
  } catch (const std::exception& e) {
    try {
      return reject(CHIPRT_ORCH_FAILED,
                    Status(StatusCode::resource_exhausted,
                           fmt::format("submitting task {} failed: {}", id, e.what())));
    } catch (...) {  // no memory even for the message: the run must fail all the same
      fail(Status(StatusCode::resource_exhausted, "submit_task"));
      return CHIPRT_ORCH_FAILED;
    }
  }
}

int32_t TmrRun::submit_checked(const chiprt_task_t& task, uint64_t id) {
  CheckedTask checked;
  // Core threads change tensor records only when they release intermediates: until this run
  // made one, checking a task and taking a free slot need no lock.
  std::unique_lock lock(mutex_, std::defer_lock);
  if (made_intermediates_) lock.lock();
  if (Status s = check_task(task, id, launch_.kernels, tensors_, checked); !s.ok()) {
    if (lock.owns_lock()) lock.unlock();
    return reject(CHIPRT_ORCH_INVALID, std::move(s));
  }
  const uint32_t index = ring_.index(id);
  TaskSlot& slot = ring_.slot(index);
  // Back-pressure: the task `slots` places earlier still runs. This thread runs ready tasks
  // itself while there are any; it parks only when none is left to run. waiting_ is published
  // only when about to park (so retirers do not chase a submitter that is not waiting), then
  // busy is checked again before parking: see waiting_. Only busy goes back to free meanwhile.
  const bool slot_waited = slot.busy;
  if (slot_waited) set_orchestration(StallReport::Orchestration::ring_full);
  const double slot_wait_start = tracing() && slot_waited ? trace_now_us() : 0;
  while (slot.busy && !failed()) {
    if (help_while_waiting(lock)) continue;
    if (!lock.owns_lock()) lock.lock();
    waiting_ = Wait::slot;
    if (slot.busy && !failed()) progress_.wait(lock);
    waiting_ = Wait::none;
  }
  if (lock.owns_lock()) lock.unlock();
  if (slot_waited) {
    set_orchestration(StallReport::Orchestration::in_user_code);
    span(OrchestrationSpan::ring, slot_wait_start);
  }
  if (failed()) return CHIPRT_ORCH_FAILED;

  // The slot is free, and a free slot is touched by this thread only: fill it with every step
  // that may throw before taking it. Its previous task completed, so its tensormap entries
  // (those not superseded since) retire here.
  slot.intermediates.clear();
  slot.intermediates.reserve(CHIPRT_MAX_TASK_PARAMS);
  for (uint32_t i = 0; i < checked.count; ++i) {
    TensorRecord* r = checked.records[i];
    if (r == nullptr || r->kind != TensorKind::intermediate) continue;
    if (std::find(slot.intermediates.begin(), slot.intermediates.end(), r) ==
        slot.intermediates.end()) {
      slot.intermediates.push_back(r);
    }
  }
  map_.retire(slot.placed);
  slot.task_id = id;
  for (uint32_t i = 0; i < checked.count; ++i) {
    slot.params[i] = checked.params[i];
    slot.bases[i] = checked.records[i] ? checked.records[i]->host : nullptr;
  }
  task_accesses(checked, accesses_);
  deps_.clear();
  if (tracing()) {
    dep_kinds_.clear();
    map_.submit(id, accesses_, deps_, &slot.placed, &dep_kinds_);
    for (size_t i = 0; i < deps_.size(); ++i) trace_edges_.push_back({deps_[i], id, dep_kinds_[i]});
  } else {
    map_.submit(id, accesses_, deps_, &slot.placed);
  }
  edges_.clear();
  for (uint64_t dep : deps_) edges_.push_back({ring_.index(dep), dep});

  // Take the slot: nothing below throws until the dispatcher is handed the task. (The users
  // count is the retirers' too; busy and the occupancy are atomics.)
  if (!slot.intermediates.empty()) {
    lock.lock();
    for (TensorRecord* r : slot.intermediates) ++r->users;
    lock.unlock();
  }
  slot.busy = true;
  ring_.occupy();

  const TaskDesc desc{
      id,
      task.func_id,
      checked.kernel->core,
      reinterpret_cast<chiprt_kernel_entry_fn>(const_cast<void*>(checked.kernel->entry)),
      checked.count,
      slot.params,
      slot.bases};
  try {
    GraphRun::submit(index, desc, edges_);
  } catch (...) {
    // The node was never counted nor dispatched (its guard holds it back): hand the slot back
    // as a retirement would, then fail the run.
    release_slot(slot);
    throw;
  }
  ++next_task_;
  if (alone_ && next_task_ % 64 == 0 && std::chrono::steady_clock::now() >= alone_until_) {
    stop_alone();
  }
  return CHIPRT_ORCH_OK;
}

int32_t TmrRun::sync() {
  set_orchestration(StallReport::Orchestration::in_sync);
  const double start = tracing() ? trace_now_us() : 0;
  struct Back {  // the span ends, and the orchestration is back in its code, however sync returns
    TmrRun& run;
    double start;
    ~Back() {
      run.span(OrchestrationSpan::sync, start);
      run.set_orchestration(StallReport::Orchestration::in_user_code);
    }
  } back{*this, start};
  std::unique_lock lock(mutex_);
  while (ring_.in_flight() > 0) {
    if (help_while_waiting(lock)) continue;
    waiting_ = Wait::any;  // then check again before parking: see waiting_
    if (ring_.in_flight() > 0) progress_.wait(lock);
    waiting_ = Wait::none;
  }
  return failed() ? CHIPRT_ORCH_FAILED : CHIPRT_ORCH_OK;
}

void TmrRun::stop_alone() {
  if (!alone_) return;
  alone_ = false;
  CorePool::publish_quietly(false);
  cores().wake_for_queued();
}

bool TmrRun::help_while_waiting(std::unique_lock<std::mutex>& lock) {
  if (alone_ && std::chrono::steady_clock::now() >= alone_until_) stop_alone();
  if (!cores_queued()) return false;
  const bool locked = lock.owns_lock();
  if (locked) lock.unlock();     // the tasks it runs may retire under the lock
  (void)help_cores(kHelpChain);  // the task may have been taken meanwhile: the caller looks again
  if (locked) lock.lock();
  return true;
}

void TmrRun::log(const char* message) {
  note_progress();
  if (launch_.log) launch_.log(message);
}

void TmrRun::retire(uint32_t node) {
  release_slot(ring_.slot(node));
}

void TmrRun::release_slot(TaskSlot& slot) {
  if (!slot.intermediates.empty()) {
    std::lock_guard lock(mutex_);
    for (TensorRecord* r : slot.intermediates) {
      if (--r->users == 0 && !r->scope_open) intermediates_.release(*r);
    }
    slot.intermediates.clear();  // the submitter may reuse the slot once busy is cleared
  }
  // Nothing else here needs the lock: the submitter publishes waiting_ before it checks busy or
  // the occupancy, so either it sees this retirement or this sees it waiting.
  // Vacate first: the submitter may occupy the slot as soon as busy is clear, and the ring's
  // occupancy must never count more tasks than it has slots.
  const uint64_t in_flight = ring_.vacate();
  slot.busy.store(false);
  Wait w = waiting_.load();
  // Claiming the wake-up (waiting_ back to none) lets only one retirer pay for it.
  if ((w == Wait::any || (w == Wait::slot && in_flight <= ring_.slots() / 2)) &&
      waiting_.compare_exchange_strong(w, Wait::none)) {
    // The waiter checks and parks under mutex_, so passing through it means the waiter has
    // either parked or will see the change; notifying after unlocking spares the woken waiter
    // from blocking on a mutex we still hold.
    { std::lock_guard lock(mutex_); }
    progress_.notify_one();  // there is one waiter: the submitting thread
  }
}

}  // namespace chiprt::runtime

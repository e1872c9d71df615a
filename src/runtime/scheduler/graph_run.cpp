#include "runtime/scheduler/graph_run.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/check/page_guard.h"
#include "runtime/check/task_checker.h"

namespace chiprt::runtime {

GraphRun::GraphRun(CorePool& cores, uint32_t nodes, Mode mode, bool trace)
    : cores_(cores),
      mode_(mode),
      trace_(trace),
      start_(std::chrono::steady_clock::now()),
      node_count_(nodes),
      nodes_(std::make_unique<Node[]>(nodes)),
      edges_(mode == Mode::dynamic ? std::make_unique<Edges[]>(nodes) : nullptr) {
  // A few successors per ring slot up front: a steady submit path allocates nothing, also for a
  // slot whose first edge comes after the run warmed up.
  if (edges_) {
    for (uint32_t i = 0; i < nodes; ++i) edges_[i].successors.reserve(kReservedSuccessors);
  }
}

void GraphRun::submit(uint32_t node, const TaskDesc& desc, std::span<const Dependency> deps) {
  Node& n = nodes_[node];
  // The node's previous task retired, and its completer was done with the node before it
  // retired it (which the submitter saw before re-arming it): nobody else looks at it now, so
  // re-arming takes no lock. Only this thread's dependency checks read it, under the lock.
  Edges& e = edges_[node];
  n.desc = desc;
  e.done = false;
  e.successors.clear();
  label(n);
  n.phase.store(phase_word(kArmed), std::memory_order_release);
  // A guard, dropped below, so no completion dispatches it early. Each edge is counted before
  // it becomes visible to the predecessor's completer.
  n.pending.store(1, std::memory_order_relaxed);
  for (const Dependency& d : deps) {
    Edges& p = edges_[d.node];
    std::lock_guard lock(p.mutex);
    if (p.done || nodes_[d.node].desc.task_id != d.task) continue;  // already finished
    n.pending.fetch_add(1, std::memory_order_relaxed);
    p.successors.push_back(node);
  }
  if (check_ && check_->checker) {  // every dependency, finished or not, orders the task
    std::vector<uint64_t> tasks;
    for (const Dependency& d : deps) tasks.push_back(d.task);
    check_->checker->depends(desc.task_id, tasks);
  }
  outstanding_.fetch_add(1, std::memory_order_relaxed);  // before it can complete
  if (n.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) dispatch(node);
}

void GraphRun::set_fixed(uint32_t node, const TaskDesc& desc, uint32_t deps,
                         std::span<const uint32_t> successors) {
  Node& n = nodes_[node];
  n.desc = desc;
  n.fixed_deps = static_cast<int32_t>(deps);
  n.pending.store(n.fixed_deps, std::memory_order_relaxed);
  n.fixed_successors = successors;
  label(n);
  // Roots are noted here, not dispatched: once a root runs, it may bring a successor's count to
  // zero and dispatch it itself, and that node must not be taken for a root a second time.
  if (deps == 0) roots_.push_back(node);
}

void GraphRun::start_fixed(bool wake_cores) {
  outstanding_.fetch_add(node_count_, std::memory_order_relaxed);
  if (check_) {  // drive_checked() runs them and drops the close() guard
    if (check_->checker) {
      for (uint32_t i = 0; i < node_count_; ++i) {
        const uint64_t task = nodes_[i].desc.task_id;
        for (uint32_t s : nodes_[i].fixed_successors) {
          check_->checker->depends(nodes_[s].desc.task_id, std::span<const uint64_t>(&task, 1));
        }
      }
    }
    for (uint32_t root : roots_) check_->push(root);
    return;
  }
  if (roots_.empty()) {
    close();  // no tasks (or none can start: malformed, left to the stall deadline)
    return;
  }
  // The close() guard goes before the roots are published: from then on the run may finish and
  // be destroyed at any time, so nothing may touch it after publishing (the pool copies the
  // roots under its lock before any of them can run), and a preempted dispatching thread must
  // not hold the end of the run back.
  outstanding_.fetch_sub(1, std::memory_order_relaxed);  // node_count_ > 0 remain
  cores_.push(this, roots_, wake_cores);
}

void GraphRun::rearm_fixed(bool trace) {
  // Every node's count was re-armed by the core that ran it (see execute()): nothing to touch
  // per node here, so the next run's cores do not fetch every node from this thread's cache.
  trace_ = trace;
  start_ = std::chrono::steady_clock::now();
  // Every node's phase word now names an earlier run: not started in this one.
  const uint32_t next = (epoch_.load(std::memory_order_relaxed) + 1) & ((1u << 30) - 1);
  epoch_.store(next == 0 ? 1 : next, std::memory_order_relaxed);
  outstanding_.store(1, std::memory_order_relaxed);
  failed_.store(false, std::memory_order_relaxed);
  std::lock_guard lock(finish_mutex_);
  finished_flag_ = false;
  failure_ = Status::Ok();
  slices_.clear();
}

void GraphRun::invoke(const Node& n, CoreType core, uint32_t core_index) {
  const TaskDesc& d = n.desc;
  if (d.entry == nullptr) {
    fail(Status(StatusCode::not_found,
                fmt::format("task {} names func_id {}, which is not a kernel of this callable",
                            d.task_id, d.func_id)));
    return;
  }
  chiprt_kernel_tensor_t tensors[CHIPRT_MAX_TASK_PARAMS];
  uint64_t scalars[CHIPRT_MAX_TASK_PARAMS];
  uint32_t tensor_count = 0, scalar_count = 0;
  for (uint32_t i = 0; i < d.param_count; ++i) {
    const chiprt_param_t& p = d.params[i];
    if (p.kind == CHIPRT_PARAM_SCALAR) {
      scalars[scalar_count++] = p.scalar;
      continue;
    }
    chiprt_kernel_tensor_t& t = tensors[tensor_count++];
    t.data = d.bases[i] + p.tensor.offset * chiprt_dtype_size(p.tensor.dtype);
    t.dtype = p.tensor.dtype;
    t.ndim = p.tensor.ndim;
    for (uint32_t k = 0; k < CHIPRT_MAX_DIMS; ++k) {
      t.shape[k] = p.tensor.shape[k];
      t.strides[k] = p.tensor.strides[k];
    }
    t.kind = p.kind;
    t.reserved = 0;
  }
  const chiprt_kernel_args_t args{CHIPRT_KERNEL_ABI_VERSION,
                                  d.func_id,
                                  static_cast<uint32_t>(core),
                                  core_index,
                                  tensor_count,
                                  scalar_count,
                                  tensors,
                                  scalars,
                                  d.task_id};
  std::chrono::steady_clock::time_point begin;
  if (trace_) begin = std::chrono::steady_clock::now();  // clock reads only when tracing
  TaskChecker* checker = check_ ? check_->checker : nullptr;
  // The checker's host memory may run out (snapshots): that fails the run, never the process.
  auto checking = [&](auto&& step) {
    try {
      step();
      return true;
    } catch (const std::exception& e) {
      fail(Status(StatusCode::resource_exhausted, fmt::format("checking task {} (func_id {}): {}",
                                                              d.task_id, d.func_id, e.what())));
      return false;
    }
  };
  std::unique_ptr<PageGuard> guard;
  if (checker && !checking([&] {
        checker->before(d);
        guard = checker->guard();
      })) {
    return;
  }
  if (monitor_) monitor_->kernel_begin(run_tag_, d, core_index);
  const int32_t rc = d.entry(&args);
  std::vector<PageGuard::Fault> faults;
  if (guard) {
    (void)checking([&] { faults = guard->faults(); });
    guard.reset();
  }
  if (monitor_) monitor_->kernel_end();
  if (checker) (void)checking([&] { checker->after(d, core_index, faults); });
  if (trace_) {
    const auto end = std::chrono::steady_clock::now();
    auto us = [&](auto t) { return std::chrono::duration<double, std::micro>(t - start_).count(); };
    std::lock_guard lock(finish_mutex_);
    slices_.push_back(
        {d.task_id, d.func_id, static_cast<uint32_t>(core), core_index, us(begin), us(end)});
  }
  if (rc != 0) {
    fail(Status(StatusCode::kernel_failed,
                fmt::format("task {} (func_id {}) on {} core {} returned {}", d.task_id, d.func_id,
                            core_type_name(core), core_index, rc)));
  }
}

void GraphRun::run_chain(uint32_t node, uint32_t thread, Chains& chains, uint64_t max_tasks) {
  // Progress is shared by every core of the run: it is reported once per batch of chains (and
  // every kProgressStride tasks of a long chain), not per task.
  uint64_t ran = 0;
  for (std::optional<uint32_t> next = node; next;) {
    next = execute(*next, thread);
    ++chains.completed;
    if (++chains.unreported == kProgressStride) {
      note_progress(kProgressStride);
      chains.unreported = 0;
    }
    if (next && ++ran == max_tasks) {
      cores_.push(ReadyTask{this, *next});  // counted later: the run lives until then
      return;
    }
  }
}

void GraphRun::count_chains(const Chains& chains) {
  note_progress(chains.unreported);
  count_completions(chains.completed);  // the run may be destroyed once this returns
}

std::optional<uint32_t> GraphRun::execute(uint32_t node, uint32_t thread) {
  Node& n = nodes_[node];
  // A ready fixed node is counted down no more in this run: re-arm it for the next one now.
  if (mode_ == Mode::fixed) n.pending.store(n.fixed_deps, std::memory_order_relaxed);
  n.phase.store(phase_word(kRunning), std::memory_order_relaxed);
  const CoreType core = n.desc.core;
  const uint32_t cores = std::max(1u, cores_.cores(core));
  const uint32_t core_index =
      check_ ? checked_core(check_->seed, n.desc.task_id, cores) : thread % cores;
  if (!failed()) invoke(n, core, core_index);

  // Release successors. Dynamic nodes mark themselves done under the edge lock first, so the
  // submitting thread never adds an edge that nobody would release.
  thread_local std::vector<uint32_t> released;
  std::span<const uint32_t> successors = n.fixed_successors;
  if (mode_ == Mode::dynamic) {
    Edges& e = edges_[node];
    released.clear();
    std::lock_guard lock(e.mutex);
    e.done = true;
    released.swap(e.successors);
    successors = released;
  }
  // The first successor freed runs next on this thread; the rest are published in one batch.
  std::optional<uint32_t> next;
  uint32_t ready[kPublishBatch];
  uint32_t ready_count = 0;
  for (uint32_t s : successors) {
    if (nodes_[s].pending.fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
    if (!next && !check_) {  // a checked schedule picks what runs next
      next = s;
      continue;
    }
    ready[ready_count++] = s;
    if (ready_count == kPublishBatch) {
      publish(std::span<const uint32_t>(ready, ready_count));
      ready_count = 0;
    }
  }
  if (ready_count > 0) publish(std::span<const uint32_t>(ready, ready_count));
  if (mode_ == Mode::dynamic) released.swap(edges_[node].successors);  // keep the capacity
  n.phase.store(phase_word(kFinished), std::memory_order_relaxed);
  retire(node);
  return next;
}

// The waiter may destroy the run as soon as it sees the run finished, so the thread that
// brings outstanding_ to zero sets the flag under finish_mutex_ and touches nothing after
// releasing it; every other completer touches nothing after its decrement.
void GraphRun::count_completions(uint64_t tasks) {
  if (outstanding_.fetch_sub(tasks, std::memory_order_acq_rel) == tasks) finish();
}

void GraphRun::check_with(TaskChecker* checker, uint64_t seed) {
  check_ = std::make_unique<CheckState>();
  check_->checker = checker;
  check_->seed = seed;
  check_->order.seed(seed);
}

uint32_t GraphRun::checked_core(uint64_t seed, uint64_t task, uint32_t cores) {
  // splitmix64 of (seed, task): the same core for the same task on both runtimes.
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (task + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z % std::max(1u, cores));
}

bool GraphRun::run_checked_task() {
  uint32_t node = 0;
  {
    std::lock_guard lock(check_->mutex);
    std::vector<uint32_t>& ready = check_->ready;
    if (ready.empty()) return false;
    // mt19937_64's output is fixed by the standard (a distribution's is not): a seed names
    // the same schedule everywhere.
    const size_t pick = static_cast<size_t>(check_->order() % ready.size());
    node = ready[pick];
    ready[pick] = ready.back();
    ready.pop_back();
  }
  (void)execute(node, 0);  // frees no follow-up in check mode: successors wait in `ready`
  note_progress();
  count_completions(1);  // never the last: the driver holds the close() guard
  return true;
}

void GraphRun::drive_checked() {
  while (run_checked_task()) {
  }
  close();
}

void GraphRun::close() {
  count_completions(1);  // the guard
}

void GraphRun::finish() {
  if (on_finished_) {
    // Moved out first: the callback may destroy this run, and with it the member.
    std::function<void()> done = std::move(on_finished_);
    done();
    return;
  }
  std::lock_guard lock(finish_mutex_);
  finished_flag_ = true;
  finished_.notify_all();
}

Status GraphRun::wait() {
  std::unique_lock lock(finish_mutex_);
  finished_.wait(lock, [&] { return finished_flag_; });
  return failure_;
}

void GraphRun::fail(Status status) {
  std::lock_guard lock(finish_mutex_);
  if (failed_.load()) return;
  failure_ = std::move(status);
  failed_.store(true, std::memory_order_release);
}

Status GraphRun::failure() {
  std::lock_guard lock(finish_mutex_);
  return failure_;
}

std::vector<TaskTrace> GraphRun::take_trace() {
  std::lock_guard lock(finish_mutex_);
  return std::move(slices_);
}

bool GraphRun::unfinished(uint32_t node, StallTask& out) const {
  const Node& n = nodes_[node];
  const uint32_t word = n.phase.load(std::memory_order_acquire);
  const uint32_t epoch = epoch_.load(std::memory_order_relaxed);
  uint32_t phase = word & 3;
  if ((word >> 2) != epoch) {
    if (mode_ == Mode::dynamic) return false;  // never armed
    phase = kArmed;                            // a fixed node not started in this run
  }
  if (phase == kFinished) return false;
  out.task_id = n.task_id.load(std::memory_order_relaxed);
  const uint64_t func_core = n.func_core.load(std::memory_order_relaxed);
  out.func_id = static_cast<uint32_t>(func_core);
  out.core_type = static_cast<uint32_t>(func_core >> 32);
  using State = StallReport::Task::State;
  out.state = phase == kRunning                               ? State::running
              : n.pending.load(std::memory_order_relaxed) > 0 ? State::waiting
                                                              : State::ready;
  return true;
}

bool GraphRun::waits_on(uint32_t waiter, uint32_t predecessor) {
  if (mode_ == Mode::fixed) {
    const auto& successors = nodes_[predecessor].fixed_successors;
    return std::find(successors.begin(), successors.end(), waiter) != successors.end();
  }
  Edges& e = edges_[predecessor];
  std::lock_guard lock(e.mutex);
  return !e.done &&
         std::find(e.successors.begin(), e.successors.end(), waiter) != e.successors.end();
}

void GraphRun::describe_stall(StallView& out) {
  // Oldest first in fixed arrays: each candidate is inserted in task id order and the youngest
  // falls off the end.
  auto insert = [](auto* list, uint32_t& count, uint32_t capacity, const auto& item,
                   uint64_t task_id) {
    uint32_t at = count;
    while (at > 0 && list[at - 1].task_id_key > task_id) --at;
    if (at >= capacity) return;
    for (uint32_t i = std::min(count, capacity - 1); i > at; --i) list[i] = list[i - 1];
    list[at] = item;
    count = std::min(count + 1, capacity);
  };
  struct Candidate {
    uint64_t task_id_key;
    uint32_t node;
    StallTask task;
  };
  Candidate oldest[StallReport::kMaxWaiting];
  uint32_t count = 0;
  out = StallView{};
  for (uint32_t i = 0; i < node_count_; ++i) {
    StallTask task;
    if (!unfinished(i, task) || task.state == StallReport::Task::State::running) continue;
    ++out.not_started;
    insert(oldest, count, StallReport::kMaxWaiting, Candidate{task.task_id, i, task}, task.task_id);
  }
  out.count = count;
  for (uint32_t w = 0; w < count; ++w) {
    StallWaiting& waiting = out.waiting[w];
    waiting.task = oldest[w].task;
    Candidate predecessors[StallReport::kMaxPredecessors];
    uint32_t listed = 0;
    for (uint32_t p = 0; p < node_count_; ++p) {
      StallTask task;
      if (p == oldest[w].node || !unfinished(p, task) || !waits_on(oldest[w].node, p)) continue;
      ++waiting.unmet;
      insert(predecessors, listed, StallReport::kMaxPredecessors, Candidate{task.task_id, p, task},
             task.task_id);
    }
    waiting.listed = listed;
    for (uint32_t k = 0; k < listed; ++k) waiting.predecessors[k] = predecessors[k].task;
  }
}

uint64_t GraphRun::memory_bytes() const {
  uint64_t bytes =
      sizeof(*this) + uint64_t{node_count_} * sizeof(Node) + roots_.capacity() * sizeof(uint32_t);
  if (edges_) {
    bytes += uint64_t{node_count_} * sizeof(Edges);
    for (uint32_t i = 0; i < node_count_; ++i) {
      bytes += edges_[i].successors.capacity() * sizeof(uint32_t);
    }
  }
  return bytes;
}

}  // namespace chiprt::runtime

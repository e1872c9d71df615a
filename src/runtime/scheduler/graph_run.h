// GraphRun: one run's task graph as the dispatcher sees it. This is the single piece of
// scheduling code shared by both runtimes: dependency counters, successor release on
// completion, dispatch of ready tasks to the CorePool, kernel invocation, failure and the
// wait for the end of the run.
//
// Two ways to fill it:
// - dynamic (tmr): nodes are ring slots reused by successive tasks. The orchestration thread
//   submit()s a node with the earlier nodes it depends on; edges and completion of a node meet
//   under that node's mutex so an edge is never added to a finished task (one mutex per node,
//   so cores finishing different tasks and the submitter rarely contend). Mutexes and edge
//   lists exist in this mode only.
// - fixed (hbg): every node's descriptor, dependency count and successor list are set up front
//   (from the uploaded graph), then start_fixed() closes the run and dispatches the roots. No
//   locks on edges.
//
// The end of a run is either awaited (wait()) or delivered (on_finished(): the callback runs on
// the thread that completed the run and may destroy it).
//
// Dispatch: a core thread runs a chain (run_chain): the task it was given, then one successor
// that task freed, at once and on the same thread, and so on; the other freed successors go to
// the CorePool in one batch. Completions are counted by the core thread once for all the
// chains of a run it took from the pool at once (count_chains: one atomic per batch, not per
// task), which also keeps the run alive until then.
//
// Check mode (check_with(), see chiprt/check.h): nothing goes to the CorePool. Ready tasks wait
// in the run, and the thread that drives it (a tmr orchestration's, whenever it would wait for
// tasks and at its end; for a fixed graph, drive_checked()'s caller) runs them one at a time in
// an order drawn from the seed among the ready ones, each as a core drawn from the seed and its
// task id, with a TaskChecker (optional) watching each kernel.
//
// Thread safety: submit/close are called from one submitting thread;
// run_chain()/count_chains() from core threads; fail() from any thread; wait() from one waiting
// thread; describe_stall() from any thread. A run must stay alive until wait() returned or its
// on_finished callback ran.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/run.h"
#include "runtime/scheduler/core_pool.h"
#include "runtime/scheduler/task_desc.h"

namespace chiprt::runtime {

// Watches kernels start and end (the device process records them in shared memory so the host
// can name what was running when the device died). Called on the executing thread.
class ExecutionMonitor {
 public:
  virtual ~ExecutionMonitor() = default;
  virtual void kernel_begin(uint64_t run, const TaskDesc& task, uint32_t core_index) noexcept = 0;
  virtual void kernel_end() noexcept = 0;
};

class TaskChecker;

class GraphRun {
 public:
  enum class Mode { dynamic, fixed };
  GraphRun(CorePool& cores, uint32_t nodes, Mode mode, bool trace);
  virtual ~GraphRun() = default;
  GraphRun(const GraphRun&) = delete;
  GraphRun& operator=(const GraphRun&) = delete;

  // dynamic mode: (re)arms `node` for a task that waits for the listed earlier tasks (those
  // already finished are skipped) and dispatches it once they are done.
  struct Dependency {
    uint32_t node;
    uint64_t task;
  };
  void submit(uint32_t node, const TaskDesc& desc, std::span<const Dependency> deps);

  // fixed mode: set_fixed() every node, then start_fixed(), which also closes the run (no
  // close() after it): the run may be gone once it returns.
  void set_fixed(uint32_t node, const TaskDesc& desc, uint32_t deps,
                 std::span<const uint32_t> successors);
  // `wake_cores` false: the pool's parked threads are not woken for the roots (the caller runs
  // them, see CorePool::help).
  void start_fixed(bool wake_cores = true);
  // fixed mode, once a run finished (its on_finished callback ran or wait() returned, so every
  // node ran and re-armed its dependency count): makes it a fresh run of the same graph (same
  // nodes, descriptors and edges; `trace` anew) for observe()/on_finished()/start_fixed(), so a
  // replayed graph is set up once. The descriptors' borrowed pointers are the caller's to keep
  // valid (or to change in place before starting).
  void rearm_fixed(bool trace);

  // Called by core execution thread `thread` with a ready node: runs it and the chain of
  // successors it frees (see above), and adds to `chains` what it completed. Those tasks count
  // as complete once the thread passes the sum of its chains of this run to count_chains(),
  // which it must: the run may be destroyed once that returns.
  struct Chains {
    uint64_t completed = 0;   // tasks
    uint64_t unreported = 0;  // of them, not yet reported as progress
  };
  // A chain longer than max_tasks stops there and hands the pool the task that was next.
  void run_chain(uint32_t node, uint32_t thread, Chains& chains, uint64_t max_tasks = ~0ull);
  void count_chains(const Chains& chains);

  // Before any task is armed: `monitor` sees every kernel (as run `run`), `progress` is
  // advanced by the tasks completed (counted per batch of chains), and `orchestration` holds
  // what the run's orchestration is doing (StallReport::Orchestration, see
  // set_orchestration()). All borrowed, nullable.
  void observe(ExecutionMonitor* monitor, uint64_t run, std::atomic<uint64_t>* progress,
               std::atomic<uint32_t>* orchestration = nullptr) {
    monitor_ = monitor;
    run_tag_ = run;
    progress_ = progress;
    orchestration_ = orchestration;
  }
  // One relaxed store per change of state (a wait begins or ends), never per task.
  void set_orchestration(StallReport::Orchestration state) {
    if (orchestration_)
      orchestration_->store(static_cast<uint32_t>(state), std::memory_order_relaxed);
  }
  void note_progress(uint64_t steps = 1) {
    if (progress_ && steps > 0) progress_->fetch_add(steps, std::memory_order_relaxed);
  }
  // Before any task is armed: instead of waking wait(), the end of the run calls `done`, which
  // may destroy the run.
  void on_finished(std::function<void()> done) { on_finished_ = std::move(done); }
  // The first failure, or ok (after the run finished).
  Status failure();

  // No more tasks will be armed. Then wait() returns once every task completed, with the
  // first failure (kernel or otherwise) or ok.
  void close();
  Status wait();
  // Before any task is armed: check mode, see above (`checker` borrowed, nullable).
  void check_with(TaskChecker* checker, uint64_t seed);
  bool checking() const { return check_ != nullptr; }
  // Check mode, fixed graphs: after start_fixed(), runs every task on this thread, then closes
  // the run (which may be gone once this returns).
  void drive_checked();
  // The logical core a checked run places `task` on, among `cores`.
  static uint32_t checked_core(uint64_t seed, uint64_t task, uint32_t cores);

  // A stalled run's oldest not-started tasks (lowest task ids first) and, for each, the
  // predecessors it still waits on (running, or not started themselves).
  struct StallTask {
    uint64_t task_id = 0;
    uint32_t func_id = 0;
    uint32_t core_type = 0;
    StallReport::Task::State state = StallReport::Task::State::waiting;
  };
  struct StallWaiting {
    StallTask task;
    uint32_t unmet = 0;   // predecessors not finished
    uint32_t listed = 0;  // of them, in `predecessors` (the oldest)
    StallTask predecessors[StallReport::kMaxPredecessors];
  };
  struct StallView {
    uint64_t not_started = 0;
    uint32_t count = 0;
    StallWaiting waiting[StallReport::kMaxWaiting];
  };
  // From any thread while the run is alive (the stall reporter): reads the nodes' state words
  // and, in dynamic mode, takes each unfinished node's edge lock briefly (never held across a
  // kernel, so a stuck kernel does not block it). Allocates nothing; O(kMaxWaiting x (nodes +
  // edges)). A view of a run that is still moving may mix moments, which a stalled run is not.
  void describe_stall(StallView& out);

  // Records a failure (the first wins); kernels of tasks not yet started are skipped.
  void fail(Status status);
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  uint32_t node_count() const { return node_count_; }
  std::vector<TaskTrace> take_trace();
  bool tracing() const { return trace_; }
  // Microseconds since the run started, on its trace's clock.
  double trace_now_us() const {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_)
        .count();
  }
  // Host bytes this run holds (itself, its nodes, edges and roots, by capacity), for caches
  // that keep runs to replay them. Not while the run is being armed.
  uint64_t memory_bytes() const;

 protected:
  // On a core thread, after `node` completed and released its successors and before the run
  // counts it: tmr frees the ring slot and heap references here. The node may be re-armed as
  // soon as this returns.
  virtual void retire(uint32_t node) { (void)node; }
  // For a thread about to wait for tasks to complete: runs a ready task of any run (and the
  // chain it frees, up to `max_chain` tasks) on this thread instead; false when none was ready.
  // In check mode: runs the next task of the schedule instead.
  bool help_cores(uint64_t max_chain) {
    return check_ ? run_checked_task() : cores_.help_once(max_chain);
  }
  bool cores_queued() const { return check_ ? check_->queued() : cores_.queued() > 0; }
  CorePool& cores() { return cores_; }

 private:
  // What a core reads and writes per task, in both modes.
  struct alignas(64) Node {
    TaskDesc desc;
    std::atomic<int32_t> pending{0};
    int32_t fixed_deps = 0;  // fixed mode: pending at the start of a run
    std::span<const uint32_t> fixed_successors;
    // For describe_stall(), which may read while the node is re-armed: (epoch << 2) | phase
    // (kArmed, kRunning, kFinished; epoch_ of the run that last touched it), the task id, and
    // func_id | core type << 32 of the task it holds.
    std::atomic<uint32_t> phase{0};
    std::atomic<uint64_t> task_id{0};
    std::atomic<uint64_t> func_core{0};
  };
  static constexpr uint32_t kArmed = 0, kRunning = 1, kFinished = 2;
  uint32_t phase_word(uint32_t phase) const {
    return (epoch_.load(std::memory_order_relaxed) << 2) | phase;
  }
  void label(Node& n) {
    n.task_id.store(n.desc.task_id, std::memory_order_relaxed);
    n.func_core.store(n.desc.func_id | (uint64_t{static_cast<uint32_t>(n.desc.core)} << 32),
                      std::memory_order_relaxed);
  }
  // Whether `node` is not finished in this run (and how far it is), for describe_stall().
  bool unfinished(uint32_t node, StallTask& out) const;
  bool waits_on(uint32_t waiter, uint32_t predecessor);
  // dynamic mode only: the successors added while the node's task is armed.
  struct Edges {
    std::mutex mutex;  // guards successors and done
    std::vector<uint32_t> successors;
    bool done = true;
  };
  // Runs the node's kernel and releases its successors: returns one that became ready (for the
  // caller to run next) and publishes the others to the pool.
  std::optional<uint32_t> execute(uint32_t node, uint32_t thread);
  static constexpr uint32_t kPublishBatch = 32;       // ready successors published per pool lock
  static constexpr uint32_t kReservedSuccessors = 4;  // per dynamic node, see the constructor
  static constexpr uint64_t kProgressStride = 64;     // tasks of a chain per progress report
  void invoke(const Node& n, CoreType core, uint32_t core_index);
  void dispatch(uint32_t node) {
    if (check_) return check_->push(node);
    cores_.push(ReadyTask{this, node});
  }
  void publish(std::span<const uint32_t> nodes) {
    if (check_) {
      for (uint32_t node : nodes) check_->push(node);
      return;
    }
    cores_.push(this, nodes);
  }
  // Check mode: runs one ready task of the schedule (and counts it); false when none is ready.
  bool run_checked_task();
  struct CheckState {
    TaskChecker* checker = nullptr;
    uint64_t seed = 0;
    std::mt19937_64 order;
    std::mutex mutex;  // guards ready
    std::vector<uint32_t> ready;
    void push(uint32_t node) {
      std::lock_guard lock(mutex);
      ready.push_back(node);
    }
    bool queued() {
      std::lock_guard lock(mutex);
      return !ready.empty();
    }
  };
  std::unique_ptr<CheckState> check_;
  void count_completions(uint64_t tasks);
  void finish();

  CorePool& cores_;
  const Mode mode_;
  bool trace_;
  std::chrono::steady_clock::time_point start_;
  const uint32_t node_count_;
  std::unique_ptr<Node[]> nodes_;
  std::unique_ptr<Edges[]> edges_;  // dynamic mode
  std::vector<uint32_t> roots_;     // fixed mode
  ExecutionMonitor* monitor_ = nullptr;
  uint64_t run_tag_ = 0;
  std::atomic<uint64_t>* progress_ = nullptr;
  std::atomic<uint32_t>* orchestration_ = nullptr;
  // Which run of a fixed graph this is (1, 2, ... within 30 bits, never 0, so that a node's
  // phase word of an earlier run, or a never-used node's 0, is told from this run's).
  std::atomic<uint32_t> epoch_{1};
  std::function<void()> on_finished_;
  std::atomic<bool> failed_{false};

  // Tasks submitted and not yet counted complete, plus one until close(): whoever brings it to
  // zero ends the run. Written by every chain: on a cache line of its own, so that it does not
  // evict the fields above, which every task reads.
  alignas(64) std::atomic<uint64_t> outstanding_{1};
  alignas(64) std::mutex finish_mutex_;
  std::condition_variable finished_;
  bool finished_flag_ = false;     // guarded by finish_mutex_
  Status failure_;                 // guarded by finish_mutex_
  std::vector<TaskTrace> slices_;  // guarded by finish_mutex_
};

}  // namespace chiprt::runtime

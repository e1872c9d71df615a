// Host allocations on the submit path, counted by a replaced global operator new (this binary
// only): a steady stream of tasks through the tensormap allocates nothing once warmed up, and an
// allocation that throws inside tmr's submit_task fails the run cleanly (it never hangs) and
// leaves the core pool and device fit for the next run.
//
// The counters are per thread: tmr runs the orchestration on the calling thread here (an
// in-process TmrRun on a simulated chip's memory), so only the submit path is counted, not the
// execution threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <new>
#include <thread>

#include "chiprt/abi/kernel.h"
#include "chiprt/device.h"
#include "runtime/common/tensormap.h"
#include "runtime/scheduler/core_pool.h"
#include "runtime/tmr/tmr_run.h"
#include "tensor_views.h"

namespace {
thread_local uint64_t t_allocations = 0;
thread_local uint64_t t_throw_at = 0;  // throw std::bad_alloc at this allocation (0: never)
thread_local bool t_threw = false;
}  // namespace

// GCC 12 takes free() in the replaced operator delete for a mismatch with the operator new it
// sees inlined; both are this file's malloc/free pair.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t bytes) {
  ++t_allocations;
  if (t_throw_at != 0 && t_allocations == t_throw_at) {
    t_throw_at = 0;
    t_threw = true;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace chiprt::runtime {
namespace {

constexpr uint64_t kHandle = 0x1000;  // the map takes any handles
constexpr int64_t kSide = 64;         // tensors of kSide x kSide float32, row-major

using chiprt::testing::view2d;

TEST(SubmitAllocations, SteadyTileStreamThroughTheTensorMapAllocatesNothing) {
  constexpr uint32_t kRing = 64;  // entries retire when their slot is reused, as on tmr
  constexpr uint64_t kTasks = 10000, kWarmUp = 2000;
  TensorMap map;
  TaskAccesses accesses;
  std::vector<uint64_t> deps;
  std::vector<std::vector<TensorMap::Placed>> ring(kRing);
  uint64_t at_warm = 0, dependencies = 0;
  for (uint64_t t = 0; t < kTasks; ++t) {
    if (t == kWarmUp) at_warm = t_allocations;
    std::vector<TensorMap::Placed>& placed = ring[t % kRing];
    map.retire(placed);
    const uint64_t quarter = (t / 4) % 4;
    accesses.clear();
    // A column tile updated in place (64 runs), a row tile read (one run), a 2 x 2 sub-tile
    // read (16 runs), and every 50th task a whole tensor written: four rotating tensors.
    accesses.add(kHandle + t % 4, true, view2d(quarter * 16, kSide, 16, kSide, 1));
    accesses.add(kHandle + (t + 1) % 4, false, view2d(quarter * 16 * kSide, 16, kSide, kSide, 1));
    accesses.add(kHandle + (t + 3) % 4, false, view2d(quarter * 17 * 16, 16, 16, kSide, 1));
    if (t % 50 == 0) accesses.add(kHandle + (t + 2) % 4, true, view2d(0, kSide, kSide, kSide, 1));
    deps.clear();
    map.submit(t, accesses, deps, &placed);
    dependencies += deps.size();
  }
  const uint64_t steady = t_allocations - at_warm;
  EXPECT_EQ(steady, 0u) << "allocations over the last " << kTasks - kWarmUp << " tasks";
  EXPECT_GT(dependencies, kTasks);  // the stream really has dependencies to find
  EXPECT_GT(map.superseded(), 0u);
}

// An in-process tmr run: the orchestration below on this thread, kernels on a core pool.
struct Plan {
  uint64_t tasks = 1;
  uint64_t throw_task = ~0ull;  // this task's submit_task throws at its k-th allocation
  uint64_t throw_at = 0;
  uint64_t warm_up = 0;   // allocations of submits from this task on are counted
  uint64_t counted = 0;   // out
  bool threw = false;     // out: the injected allocation failure happened
  int32_t submit_rc = 0;  // out: of the submit that threw
  int32_t sync_rc = -1;   // out: of the sync() the orchestration makes after a failed submit
};
Plan g_plan;

constexpr int64_t kElements = 16;

// acc = 1, then acc += 1 per task (inout): acc ends at `tasks`.
int32_t chain_entry(const chiprt_orch_api_t* api, void* ctx) {
  chiprt_tensor_t acc;
  const int64_t shape[1] = {kElements};
  if (int32_t rc = api->alloc_output(ctx, "acc", CHIPRT_DTYPE_F32, 1, shape, &acc)) return rc;
  uint64_t start = 0;
  for (uint64_t t = 0; t < g_plan.tasks; ++t) {
    chiprt_param_t p{};
    p.kind = t == 0 ? CHIPRT_PARAM_OUTPUT : CHIPRT_PARAM_INOUT;
    p.tensor = acc;
    const chiprt_task_t task{2, CHIPRT_CORE_AIV, 1, 0, &p};
    if (t == g_plan.warm_up) start = t_allocations;
    if (t == g_plan.throw_task) {
      t_threw = false;
      t_throw_at = t_allocations + g_plan.throw_at;
    }
    const int32_t rc = api->submit_task(ctx, &task);
    if (t == g_plan.throw_task) {
      t_throw_at = 0;
      g_plan.threw = t_threw;
      g_plan.submit_rc = rc;
    }
    if (rc) {
      // A failed submit must not leave a ring slot behind: sync() waits for every slot.
      g_plan.sync_rc = api->sync(ctx);
      return rc;
    }
  }
  g_plan.counted = t_allocations - start;
  return 0;
}

int32_t add_one(const chiprt_kernel_args_t* args) {
  const chiprt_kernel_tensor_t& t = args->tensors[0];
  auto* data = static_cast<float*>(t.data);
  for (int64_t i = 0; i < t.shape[0]; ++i) {
    data[i] = t.kind == CHIPRT_PARAM_INOUT ? data[i] + 1 : 1;
  }
  return 0;
}

class InProcessTmr : public ::testing::Test {
 protected:
  void SetUp() override {
    auto profile = chip_profile("a5");
    ASSERT_TRUE(profile.ok());
    device_ = create_sim_chip(*profile, 64ull << 20);
    ASSERT_NE(device_, nullptr);
    auto cores = CorePool::create(2, 2, 2);
    ASSERT_TRUE(cores.ok());
    cores_ = std::move(cores).value();
  }

  // Runs the plan; on success checks acc == tasks.
  Result<LaunchResult> run(Plan plan) {
    g_plan = plan;
    TmrLaunch launch;
    launch.orchestration = reinterpret_cast<const void*>(&chain_entry);
    launch.kernels = KernelTable({{2, CoreType::aiv, reinterpret_cast<const void*>(&add_one)}});
    launch.limits = {8, 1 << 20};
    // The heap a worker lends each run (HeapPool): device memory of the limit.
    auto heap = device_->allocate(1 << 20, MemoryTag::runtime);
    EXPECT_TRUE(heap.ok()) << heap.status().to_string();
    if (!heap.ok()) return heap.status();
    launch.heap_addr = heap->addr();
    TmrRun tmr(*device_, *cores_, std::move(launch));
    EXPECT_TRUE(tmr.prepare().ok());
    // A run that hangs (a ring slot no task retires) ends the test binary with a message.
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    std::thread watchdog([&] {
      // Woken by the run's end; the 30 s bound is the deadline of a run that hung.
      std::unique_lock lock(mutex);
      if (!done.wait_for(lock, std::chrono::seconds(30), [&] { return finished; })) {
        std::fprintf(stderr, "FAILED: the tmr run hung for 30 s\n");
        std::_Exit(1);
      }
    });
    tmr.orchestrate();
    (void)tmr.wait();
    {
      std::lock_guard lock(mutex);
      finished = true;
    }
    done.notify_one();
    watchdog.join();
    auto result = tmr.result();
    if (result.ok()) {
      EXPECT_EQ(result->tasks, plan.tasks);
      EXPECT_EQ(result->outputs.size(), 1u);
      const LaunchTensor& acc = result->outputs.at(0);
      const auto* data = reinterpret_cast<const float*>(device_->host_pointer(acc.addr, acc.bytes));
      for (int64_t i = 0; i < kElements; ++i) {
        EXPECT_EQ(data[i], static_cast<float>(plan.tasks)) << "element " << i;
      }
    }
    return result;
  }

  std::shared_ptr<Device> device_;
  std::unique_ptr<CorePool> cores_;
};

TEST_F(InProcessTmr, ThrowingAllocationInSubmitFailsTheRunAndTheNextRunSucceeds) {
  // Task 0 (the first use of the tensormap, ring slot and task lists) and task 1 (its first
  // dependency: dependency and edge lists, the predecessor's successor list in the
  // dispatcher): fail each allocation its submit makes in turn. Later submits allocate nothing
  // to fail (see SteadySubmitPathAllocatesNothing).
  for (uint64_t task : {0ull, 1ull}) {
    uint64_t failures = 0;
    for (uint64_t k = 1; k <= 64; ++k) {
      Plan plan;
      plan.tasks = 12;
      plan.throw_task = task;
      plan.throw_at = k;
      auto result = run(plan);
      if (!g_plan.threw) {  // submit made fewer than k allocations: the run is a clean one
        EXPECT_TRUE(result.ok()) << result.status().to_string();
        break;
      }
      ++failures;
      EXPECT_EQ(g_plan.submit_rc, CHIPRT_ORCH_FAILED) << "task " << task << " allocation " << k;
      EXPECT_EQ(g_plan.sync_rc, CHIPRT_ORCH_FAILED) << "task " << task << " allocation " << k;
      ASSERT_FALSE(result.ok()) << "task " << task << " allocation " << k;
      EXPECT_EQ(result.status().code(), StatusCode::resource_exhausted);
      EXPECT_NE(
          result.status().message().find("submitting task " + std::to_string(task) + " failed"),
          std::string::npos)
          << result.status().to_string();
      Plan clean;
      clean.tasks = 12;
      auto next = run(clean);
      EXPECT_TRUE(next.ok()) << "after task " << task << " allocation " << k << ": "
                             << next.status().to_string();
    }
    EXPECT_GT(failures, 0u) << "task " << task << "'s submit allocated nothing to fail";
    std::cout << "task " << task << ": " << failures << " allocations failed in turn\n";
  }
  EXPECT_EQ(device_->stats().tag(MemoryTag::runtime).live_bytes, 0u);
}

// After warm-up, submitting allocates nothing on the submitting thread: the tensormap, the ring,
// the task lists and the pool's ready queue (a ring, where a std::deque allocated a block every
// 250 tasks or so) all reuse what they hold.
TEST_F(InProcessTmr, SteadySubmitPathAllocatesNothing) {
  Plan plan;
  plan.tasks = 10000;
  plan.warm_up = 2000;
  auto result = run(plan);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(g_plan.counted, 0u);
  std::cout << "tmr submit path: " << g_plan.counted << " allocations over "
            << plan.tasks - plan.warm_up << " tasks after warm-up\n";
  RecordProperty("steady_submit_allocations", std::to_string(g_plan.counted));
}

}  // namespace
}  // namespace chiprt::runtime

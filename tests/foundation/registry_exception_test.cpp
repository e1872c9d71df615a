// Registration under exceptions (I5) and the dedup comparison outside the pool's lock.
//
// A fault is injected at each step a registration takes (the identity hook, the device
// allocation, the placement upload, a read of the placed bytes, each code load, the dedup byte
// comparison): the exception becomes an error Status, and the pool, the registry's counters,
// device memory (exact) and refcounts are exactly as before; the same image then registers and
// dedups. A comparison held mid-read shows that leases, runs, releases and other registrations
// on the worker go on meanwhile, and that releasing the candidate under it is handled. Runs on
// SimChip a2a3 and a5, tmr and hbg.
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "fault_injection.h"
#include "host_allocation_faults.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

// The vector image: an orchestration and three kernels, so four code loads per placement.
constexpr uint64_t kVectorLoads = 4;
// How long a call may take before it counts as stuck behind the held comparison. Only failure
// depends on it: every passing wait completes as soon as the call returns.
constexpr auto kStuck = std::chrono::seconds(60);

class RegistryExceptionTest : public NoFilesTestWithParam<WorkerCase> {
 protected:
  void SetUp() override {
    device_ = std::make_shared<FaultyDevice>(make_device(GetParam().backend));
    faulty_loader_ = std::make_shared<FaultyLoader>(worker_loader(*device_, GetParam().runtime));
    loader_ = std::make_shared<CountingLoader>(faulty_loader_);
    WorkerOptions options;
    options.runtime = GetParam().runtime;
    options.loader = loader_;
    options.orchestration_loader = loader_;
    options.identity_hash = [this](const ImageView& view) {
      if (throw_identity_.exchange(false)) throw std::runtime_error("injected identity fault");
      return view.content_hash();
    };
    worker_ = make_worker(device_, std::move(options));
    baseline_ = device_->stats();
  }
  void TearDown() override {
    worker_.reset();
    NoFilesTest::TearDown();
  }

  RuntimeKind runtime() const { return GetParam().runtime; }
  bool tmr() const { return runtime() == RuntimeKind::tmr; }

  // Everything a failed registration must leave exactly as it was.
  struct Trace {
    uint64_t device_live_bytes, device_live_allocations, callable_live_bytes,
        callable_live_allocations, registrations_live, registrations_total, distinct_buffers_live,
        buffers_created, loaded, leased_buffers, deferred_releases;
    std::map<uint32_t, uint64_t> refcounts;
    int64_t loaded_alive;
    friend bool operator==(const Trace&, const Trace&) = default;
  };
  Trace trace() const {
    const WorkerStats s = worker_->stats();
    const TagStats& callable = s.device.tag(MemoryTag::callable);
    return {s.device.live_bytes, s.device.live_allocations, callable.live_bytes,
            callable.live_allocations, s.registrations_live, s.registrations_total,
            s.distinct_buffers_live, s.buffers_created,
            // Code loaded and not unloaded (counted by the device and the sandbox): a failed
            // registration may load, but unloads whatever it loaded.
            s.loads - s.unloads, s.leased_buffers, s.deferred_releases, s.refcount_histogram,
            loader_->alive()};
  }

  CallableId register_ok(const Bytes& image) {
    Result<CallableId> id = worker_->register_callable(image);
    if (!id.ok()) throw std::runtime_error("register_callable: " + id.status().to_string());
    return *id;
  }
  CallableInfo info(CallableId id) const {
    Result<CallableInfo> info = worker_->callable_info(id);
    if (!info.ok()) throw std::runtime_error("callable_info: " + info.status().to_string());
    return *info;
  }
  // Registers `image` with a fault armed by `arm`: it must fail as internal, naming `injected`,
  // and leave everything as it was.
  template <typename Arm>
  void expect_fault_leaves_no_trace(const Bytes& image, Arm arm, std::string_view injected) {
    const Trace before = trace();
    arm();
    const Result<CallableId> id = worker_->register_callable(image);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), StatusCode::internal) << id.status().to_string();
    EXPECT_NE(id.status().message().find(injected), std::string_view::npos)
        << id.status().to_string();
    EXPECT_TRUE(trace() == before);
    EXPECT_EQ(device_->armed(), DeviceFault::none) << "the fault was reached";
    EXPECT_FALSE(faulty_loader_->armed()) << "the fault was reached";
    EXPECT_FALSE(throw_identity_.load()) << "the fault was reached";
  }

  std::shared_ptr<FaultyDevice> device_;
  std::shared_ptr<FaultyLoader> faulty_loader_;
  std::shared_ptr<CountingLoader> loader_;
  std::atomic<bool> throw_identity_{false};
  std::unique_ptr<ChipWorker> worker_;
  DeviceStats baseline_;
};

TEST_P(RegistryExceptionTest, ThrowAtEachPlacementStepLeavesNoTrace) {
  const Bytes kept = vector_image("kept");
  const Bytes image = vector_image("placed");
  const CallableId kept_id = register_ok(kept);
  ASSERT_EQ(kept_id, id_at(0, 0));

  expect_fault_leaves_no_trace(
      image, [&] { throw_identity_ = true; }, "injected identity fault");
  for (DeviceFault fault : {DeviceFault::allocate, DeviceFault::upload, DeviceFault::read}) {
    SCOPED_TRACE(static_cast<int>(fault));
    expect_fault_leaves_no_trace(
        image, [&] { device_->arm(fault); }, "injected");
  }
  for (uint64_t nth = 1; nth <= kVectorLoads; ++nth) {
    SCOPED_TRACE(nth);
    expect_fault_leaves_no_trace(
        image, [&] { faulty_loader_->throw_on_load(nth); }, "injected load fault");
  }
  EXPECT_EQ(info(kept_id).refcount, 1u);
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).live_bytes,
            placed_allocation(kept, runtime()));

  // The image registers now, with the id no failure used, then dedups.
  const CallableId first = register_ok(image);
  EXPECT_EQ(first, id_at(1, 0));
  const CallableId second = register_ok(image);
  EXPECT_EQ(second, id_at(2, 0));
  EXPECT_EQ(info(first).buffer_generation, info(second).buffer_generation);
  EXPECT_NE(info(first).buffer_generation, info(kept_id).buffer_generation);
  EXPECT_EQ(info(first).refcount, 2u);
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.buffers_created, 2u);
  // The two placements, and what the failures loaded (and unloaded) before they struck: the
  // n-1 objects before the nth injected load fault, and on hbg the orchestration, which it
  // loads from host bytes before the device read of the kernels fails.
  const uint64_t failed_loads = kVectorLoads * (kVectorLoads - 1) / 2 + (tmr() ? 0 : 1);
  EXPECT_EQ(stats.loads, 2 * kVectorLoads + failed_loads);
  EXPECT_EQ(stats.unloads, failed_loads);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_allocations, 2u);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_bytes,
            placed_allocation(kept, runtime()) + placed_allocation(image, runtime()));

  for (CallableId id : {kept_id, first, second}) ASSERT_TRUE(worker_->unregister_callable(id).ok());
  EXPECT_EQ(worker_->stats().device.live_bytes, baseline_.live_bytes);
  EXPECT_EQ(loader_->alive(), 0);
}

TEST_P(RegistryExceptionTest, ThrowDuringADedupHitLeavesNoTrace) {
  const Bytes image = vector_image("dedup");
  const CallableId first = register_ok(image);
  const uint64_t generation = info(first).buffer_generation;

  expect_fault_leaves_no_trace(
      image, [&] { throw_identity_ = true; }, "injected identity fault");
  // The comparison reads the placed bytes: it throws with the candidate pinned.
  expect_fault_leaves_no_trace(
      image, [&] { device_->arm(DeviceFault::read); }, "injected read");
  EXPECT_EQ(worker_->stats().leased_buffers, 0u) << "the pin went back";

  const CallableId second = register_ok(image);
  EXPECT_EQ(second, id_at(1, 0));
  EXPECT_EQ(info(second).buffer_generation, generation);
  EXPECT_EQ(info(first).refcount, 2u);
  EXPECT_EQ(worker_->stats().buffers_created, 1u);
  EXPECT_EQ(worker_->stats().loads, kVectorLoads);
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).live_bytes,
            placed_allocation(image, runtime()));
  worker_->finalize();  // returns: no lease or creation was left behind
  EXPECT_EQ(worker_->stats().leaked_registrations, 2u);
  EXPECT_EQ(device_->stats().live_bytes, baseline_.live_bytes);
}

TEST_P(RegistryExceptionTest, DedupComparisonBlocksNoOtherCall) {
  const Bytes image = vector_image("compared");
  const Bytes other = fixture_image_a("other");
  const CallableId original = register_ok(image);
  const CallableId other_id = register_ok(other);
  const uint64_t generation = info(original).buffer_generation;

  // A second registration of `image` hits `original`'s buffer and compares the bytes; its read
  // of the placed bytes is held.
  device_->hold_next_callable_read();
  auto comparing =
      std::async(std::launch::async, [&] { return worker_->register_callable(image); });
  device_->wait_until_read_held();

  // Meanwhile, on this worker: a lease, a run, the candidate's last unregister, a registration
  // of the same image and one of a new image all complete.
  auto meanwhile = std::async(std::launch::async, [&] {
    EXPECT_EQ(info(other_id).refcount, 1u);
    EXPECT_EQ(orchestration_marker(*worker_, other_id), kOrchAMarker) << "a run of another";
    EXPECT_TRUE(worker_->unregister_callable(original).ok());
    EXPECT_EQ(worker_->stats().deferred_releases, 1u) << "pinned by the comparison";
    Result<CallableId> again = worker_->register_callable(image);
    EXPECT_TRUE(again.ok());
    Result<CallableId> fresh = worker_->register_callable(vector_image("fresh"));
    EXPECT_TRUE(fresh.ok());
    return std::pair{again.ok() ? *again : 0, fresh.ok() ? *fresh : 0};
  });
  const bool completed = meanwhile.wait_for(kStuck) == std::future_status::ready;
  device_->release_held_read();
  ASSERT_TRUE(completed) << "calls waited behind the held comparison";
  const auto [again, fresh] = meanwhile.get();
  EXPECT_EQ(again, id_at(0, 1)) << "slot 0, freed once";
  EXPECT_EQ(info(again).buffer_generation, generation) << "revived, not placed again";

  ASSERT_EQ(comparing.wait_for(kStuck), std::future_status::ready);
  Result<CallableId> compared = comparing.get();
  ASSERT_TRUE(compared.ok()) << compared.status().to_string();
  EXPECT_EQ(info(*compared).buffer_generation, generation);
  EXPECT_EQ(info(*compared).refcount, 2u);
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.buffers_created, 3u) << "image, other, fresh";
  EXPECT_EQ(stats.leased_buffers, 0u);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_bytes,
            placed_allocation(image, runtime()) + placed_allocation(other, runtime()) +
                placed_allocation(vector_image("fresh"), runtime()));
  for (CallableId id : {again, *compared, other_id, fresh}) {
    ASSERT_TRUE(worker_->unregister_callable(id).ok());
  }
  worker_->release_idle_memory();  // the run's intermediate heap, kept for later runs
  EXPECT_EQ(device_->stats().live_bytes, baseline_.live_bytes);
  EXPECT_EQ(loader_->alive(), 0);
}

// Every host allocation a registration makes, in turn, throws bad_alloc: a new image and a
// dedup hit each fail without a trace (or, where a failure is absorbed, succeed whole), and the
// image then registers and dedups.
TEST_P(RegistryExceptionTest, EveryHostAllocationOfARegistrationMayFail) {
  if (!host_allocation_faults::supported()) GTEST_SKIP() << "a sanitizer owns operator new";
  const Bytes kept = vector_image("kept");
  const Bytes image = vector_image("placed");
  const CallableId kept_id = register_ok(kept);
  for (const Bytes* registered : {&image, &kept}) {
    uint64_t failures = 0, absorbed = 0;
    for (uint64_t nth = 1;; ++nth) {
      SCOPED_TRACE(fmt::format("{} allocation {}", registered == &kept ? "dedup" : "new", nth));
      const Trace before = trace();
      host_allocation_faults::fail_nth(nth);
      Result<CallableId> id = worker_->register_callable(*registered);
      if (!host_allocation_faults::disarm()) {
        ASSERT_TRUE(id.ok()) << id.status().to_string();
        ASSERT_TRUE(worker_->unregister_callable(*id).ok());
        break;  // past the last allocation
      }
      ++failures;
      if (id.ok()) {
        ++absorbed;  // the failed allocation was retried or not needed: a whole registration
        ASSERT_TRUE(worker_->unregister_callable(*id).ok());
      }
      const Trace after = trace();
      EXPECT_EQ(after.device_live_bytes, before.device_live_bytes);
      EXPECT_EQ(after.device_live_allocations, before.device_live_allocations);
      EXPECT_EQ(after.callable_live_bytes, before.callable_live_bytes);
      EXPECT_EQ(after.registrations_live, before.registrations_live);
      EXPECT_EQ(after.distinct_buffers_live, before.distinct_buffers_live);
      EXPECT_EQ(after.leased_buffers, 0u);
      EXPECT_EQ(after.refcounts, before.refcounts);
      EXPECT_EQ(after.loaded_alive, before.loaded_alive);
      if (!id.ok()) {
        Trace expected = before;
        // A sandbox process that the failure ended took the code it held with it: the kept
        // image's orchestration, counted unloaded (a fresh sandbox loads it again when it runs).
        if (id.status().message().find("sandbox process") != std::string_view::npos) {
          expected.loaded -= 1;
        }
        EXPECT_TRUE(after == expected) << id.status().to_string();
      }
    }
    EXPECT_GT(failures, 0u);
    std::printf("%s registration: %llu host allocations, each failed in turn (%llu absorbed)\n",
                registered == &kept ? "dedup" : "new", static_cast<unsigned long long>(failures),
                static_cast<unsigned long long>(absorbed));
  }
  EXPECT_EQ(info(kept_id).refcount, 1u);
  const CallableId first = register_ok(image);
  const CallableId second = register_ok(image);
  EXPECT_EQ(info(first).buffer_generation, info(second).buffer_generation);
  EXPECT_EQ(info(first).refcount, 2u);
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).live_bytes,
            placed_allocation(kept, runtime()) + placed_allocation(image, runtime()));
}

INSTANTIATE_TEST_SUITE_P(SimChips, RegistryExceptionTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

}  // namespace
}  // namespace chiprt::test

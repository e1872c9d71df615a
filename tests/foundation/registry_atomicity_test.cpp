// Registration is all or nothing (I5): out of device memory, code that fails to load, and every
// class of malformed image leave no device bytes, no id and no refcount change behind (I9).
// Runs on SimChip a2a3 and a5 (tmr and hbg) and, for what the null device can do, on it too.
#include "malformed_images.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

class AtomicityTest : public WorkerTest {
 protected:
  // Stats that a failed registration must leave exactly as they were.
  struct Trace {
    uint64_t device_live_bytes, device_live_allocations, registrations_live, registrations_total,
        buffers_created, loaded;
    int64_t loaded_alive;
    friend bool operator==(const Trace&, const Trace&) = default;
  };
  Trace trace() const {
    const WorkerStats s = worker_->stats();
    return {s.device.live_bytes,   s.device.live_allocations, s.registrations_live,
            s.registrations_total, s.buffers_created,         s.loads - s.unloads,
            loader_->alive()};
  }
  void expect_fails_without_trace(const Bytes& image, StatusCode expected) {
    const Trace before = trace();
    const Result<CallableId> id = worker_->register_callable(image);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.status().code(), expected) << id.status().to_string();
    EXPECT_FALSE(id.status().message().empty());
    EXPECT_TRUE(trace() == before);
  }
};

TEST_P(AtomicityTest, OutOfDeviceMemoryMidRegistrationLeavesNoTrace) {
  const Bytes small_a = vector_image("small-a");
  const Bytes small_c = vector_image("small-c");
  const Bytes big = make_image(example_so("orch_vector.so"),
                               {{1, CoreType::aiv, &example_so("kernel_add.so")},
                                {2, CoreType::aiv, &example_so("kernel_add_scalar.so")},
                                {3, CoreType::aiv, &example_so("kernel_mul.so")},
                                {4, CoreType::aic, &example_so("kernel_matmul.so")}},
                               "big");
  ASSERT_GT(allocation_bytes(big), allocation_bytes(small_c));
  recreate(baseline_.live_bytes + allocation_bytes(small_a) + allocation_bytes(small_c));

  const CallableId a = register_ok(small_a);
  ASSERT_EQ(a, id_at(0, 0));
  const uint64_t failed_before = device_->stats().failed_allocations;
  expect_fails_without_trace(big, StatusCode::out_of_device_memory);
  EXPECT_EQ(device_->stats().failed_allocations, failed_before + 1);
  EXPECT_EQ(info(a).refcount, 1u);
  EXPECT_EQ(loader_->calls(), 4u);

  EXPECT_EQ(register_ok(small_c), id_at(1, 0)) << "the id the failed registration would have had";
  // The device is full now, yet a duplicate costs no bytes.
  EXPECT_EQ(device_->stats().live_bytes, device_->stats().capacity_bytes);
  EXPECT_EQ(register_ok(small_a), id_at(2, 0));
  EXPECT_EQ(info(a).refcount, 2u);
  expect_fails_without_trace(vector_image("no-room"), StatusCode::out_of_device_memory);

  worker_->finalize();
  expect_back_to_baseline();
}

TEST_P(AtomicityTest, OrchestrationWithoutEntryLeavesNoTrace) {
  const CallableId kept = register_ok(fixture_image_a());
  const Bytes image = make_image(fixture_so("fixture_no_entry.so"),
                                 {{1, CoreType::aiv, &fixture_so("fixture_kernel_a.so")}});
  expect_fails_without_trace(image, StatusCode::symbol_not_found);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(fixture_image_a()));
  EXPECT_EQ(info(kept).refcount, 1u);
  EXPECT_EQ(register_ok(vector_image()), kept + 1);
}

TEST_P(AtomicityTest, KernelWithoutEntryUnloadsWhatWasLoaded) {
  const Bytes image = make_image(fixture_so("fixture_orch_a.so"),
                                 {{1, CoreType::aiv, &fixture_so("fixture_kernel_a.so")},
                                  {2, CoreType::aic, &fixture_so("fixture_no_entry.so")}});
  expect_fails_without_trace(image, StatusCode::symbol_not_found);
  EXPECT_EQ(loader_->successes(), 2u) << "orchestration and kernel 1 loaded, then unloaded";
  // Counted where it happened: the device (and the sandbox, hbg) loaded and unloaded both.
  EXPECT_EQ(worker_->stats().loads, 2u);
  EXPECT_EQ(worker_->stats().unloads, 2u);
  EXPECT_EQ(loader_->calls(), 3u);
  EXPECT_EQ(register_ok(fixture_image_a()), 0u);
}

TEST_P(AtomicityTest, EveryMalformedImageFailsWithItsCodeAndNoAllocation) {
  for (const MalformedImage& malformed : malformed_images()) {
    SCOPED_TRACE(malformed.name);
    expect_fails_without_trace(malformed.bytes, malformed.expected);
  }
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).total_allocations, 0u);
  EXPECT_EQ(device_->stats().failed_allocations, 0u);
  EXPECT_EQ(loader_->calls(), 0u);
  EXPECT_EQ(register_ok(vector_image()), 0u);
}

TEST_P(AtomicityTest, RegistrationNeverWritesTheCallersBytes) {
  const Bytes image = vector_image();
  const ReadOnlyCopy copy(image);
  const ByteSpan read_only = copy.bytes();
  const CallableId first = register_ok(read_only);
  const CallableId second = register_ok(read_only);
  EXPECT_EQ(info(first).buffer_generation, info(second).buffer_generation);
  EXPECT_TRUE(std::equal(read_only.begin(), read_only.end(), image.begin()));
  worker_->finalize();
}

INSTANTIATE_TEST_SUITE_P(SimChips, AtomicityTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

class NullDeviceTest : public NoFilesTestWithParam<RuntimeKind> {
 protected:
  std::shared_ptr<CountingLoader> loader_ = std::make_shared<CountingLoader>(memfd_loader());
  std::unique_ptr<ChipWorker> worker_ = make_worker(create_null_device(), [this] {
    WorkerOptions options;
    options.runtime = GetParam();
    options.loader = loader_;
    return options;
  }());
};

TEST_P(NullDeviceTest, RegistrationFailsUnavailableWithoutTrace) {
  const Result<CallableId> id = worker_->register_callable(vector_image());
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::unavailable);
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.registrations_live, 0u);
  EXPECT_EQ(stats.registrations_total, 0u);
  EXPECT_EQ(stats.buffers_created, 0u);
  EXPECT_EQ(loader_->calls(), 0u);
  EXPECT_EQ(worker_->unregister_callable(0).code(), StatusCode::not_found);
  worker_->finalize();
  EXPECT_EQ(worker_->stats().leaked_registrations, 0u);
}

TEST_P(NullDeviceTest, MalformedImagesReportTheirCodeBeforeTouchingTheDevice) {
  for (const MalformedImage& malformed : malformed_images()) {
    SCOPED_TRACE(malformed.name);
    EXPECT_EQ(worker_->register_callable(malformed.bytes).status().code(), malformed.expected);
  }
  EXPECT_EQ(loader_->calls(), 0u);
}

INSTANTIATE_TEST_SUITE_P(NullDevice, NullDeviceTest,
                         testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const testing::TestParamInfo<RuntimeKind>& info) {
                           return std::string(runtime_name(info.param));
                         });

}  // namespace
}  // namespace chiprt::test

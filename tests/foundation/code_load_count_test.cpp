// Code loads and unloads counted where they happen (I12): by the device process at its memfd +
// dlopen and at its dlclose, and by the hbg orchestration sandbox at its own, read back through
// WorkerStats. Expected figures come from how each image was built (its kernel parts), never
// from the registry. Runs on SimChip a2a3 and a5, tmr and hbg.
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

class CodeLoadCountTest : public WorkerTest {
 protected:
  // What the device process counted; on hbg the orchestration is the sandbox's.
  uint64_t device_loads() const { return worker_->stats().device.code_loads; }
  uint64_t device_unloads() const { return worker_->stats().device.code_unloads; }
  // Loads of `kernels` kernels and one orchestration that the device itself did.
  uint64_t on_device(uint64_t kernels) const {
    return runtime() == RuntimeKind::tmr ? kernels + 1 : kernels;
  }
};

TEST_P(CodeLoadCountTest, RegistrationLoadsOrchestrationAndEachKernelOnceAndTheLastUnloads) {
  const Bytes vector = vector_image();  // three kernels
  const Bytes matmul = make_image(example_so("orch_vector.so"),
                                  {{4, CoreType::aic, &example_so("kernel_matmul.so")}}, "one");
  ASSERT_EQ(worker_->stats().loads, 0u);

  const CallableId first = register_ok(vector);
  EXPECT_EQ(worker_->stats().loads, 1u + 3u);
  EXPECT_EQ(device_loads(), on_device(3));
  const CallableId one = register_ok(matmul);
  EXPECT_EQ(worker_->stats().loads, 4u + 1u + 1u);
  EXPECT_EQ(device_loads(), on_device(3) + on_device(1));

  const CallableId duplicate = register_ok(vector);
  EXPECT_EQ(worker_->stats().loads, 6u) << "a duplicate loads nothing";
  EXPECT_EQ(worker_->stats().unloads, 0u);

  unregister_ok(duplicate);
  EXPECT_EQ(worker_->stats().unloads, 0u) << "the image is still registered once";
  unregister_ok(first);
  EXPECT_EQ(worker_->stats().unloads, 4u) << "the last unregister unloads all four";
  EXPECT_EQ(device_unloads(), on_device(3));
  unregister_ok(one);
  EXPECT_EQ(worker_->stats().unloads, 6u);
  EXPECT_EQ(device_unloads(), on_device(3) + on_device(1));
  EXPECT_EQ(worker_->stats().loads, 6u);
  expect_back_to_baseline();
}

TEST_P(CodeLoadCountTest, ReRegistrationOfAReleasedImageLoadsItAgain) {
  const Bytes vector = vector_image();
  for (uint64_t round = 1; round <= 3; ++round) {
    unregister_ok(register_ok(vector));
    EXPECT_EQ(worker_->stats().loads, 4 * round);
    EXPECT_EQ(worker_->stats().unloads, 4 * round);
  }
}

INSTANTIATE_TEST_SUITE_P(SimChips, CodeLoadCountTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

}  // namespace
}  // namespace chiprt::test

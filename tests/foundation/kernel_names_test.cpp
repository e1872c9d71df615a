// Kernel names on the host: ChipWorker::kernel_names of a registration and RunReport::kernel_names
// of a run, from the image's kernel-name table, or "func N" for an image without one (a 1.1
// image). SimChip a2a3, a5; tmr and hbg.
#include <cstring>

#include "worker_fixture.h"

namespace chiprt::test {
namespace {

using Names = std::map<uint32_t, std::string>;

class KernelNamesTest : public WorkerTest {
 protected:
  // The vector example's run on 2 x 64 elements of 2 and 3 (every output element is 47).
  RunReport run_vector(CallableId id) {
    RunArgs args;
    for (const auto& [name, value] : {std::pair{"a", 2.0f}, std::pair{"b", 3.0f}}) {
      HostTensor tensor{CHIPRT_DTYPE_F32, {2, 64}, Bytes(2 * 64 * sizeof(float))};
      for (size_t i = 0; i < 2 * 64; ++i) {
        std::memcpy(tensor.data.data() + i * sizeof(float), &value, sizeof(float));
      }
      args.tensors[name] = std::move(tensor);
    }
    Result<RunReport> report = worker_->run(id, args);
    if (!report.ok()) throw std::runtime_error("run: " + report.status().to_string());
    float first = 0;
    std::memcpy(&first, report->outputs.at("f").data.data(), sizeof first);
    EXPECT_EQ(first, 47.0f);
    return std::move(report).value();
  }
};

TEST_P(KernelNamesTest, ANamedImageNamesItsKernelsBeforeAndAfterARun) {
  const CallableId id = register_ok(named_vector_image());
  // Host metadata: the device holds what the same parts without names take.
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(signed_vector_image()));
  const Names expected = {{1, "kernel_add"}, {2, "kernel_add_scalar"}, {3, "kernel_mul"}};
  const Result<Names> before = worker_->kernel_names(id);
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  EXPECT_EQ(*before, expected);
  EXPECT_EQ(run_vector(id).kernel_names, expected);
  EXPECT_EQ(run_vector(id).kernel_names, expected) << "every run carries them";
}

TEST_P(KernelNamesTest, AVersionOneOneImageRunsWithFuncNNames) {
  const CallableId id = register_ok(version_1_1_vector_image());
  const Names expected = {{1, "func 1"}, {2, "func 2"}, {3, "func 3"}};
  EXPECT_EQ(*worker_->kernel_names(id), expected);
  EXPECT_EQ(run_vector(id).kernel_names, expected);
}

// Two images alike but for their kernel names are two callables, each with its own names.
TEST_P(KernelNamesTest, ImagesThatDifferOnlyInKernelNamesKeepTheirOwn) {
  const auto image = [](const char* add) {
    return make_image(example_so("orch_vector.so"),
                      {{1, CoreType::aiv, &example_so("kernel_add.so"), add},
                       {2, CoreType::aiv, &example_so("kernel_add_scalar.so"), "s"},
                       {3, CoreType::aiv, &example_so("kernel_mul.so"), "m"}});
  };
  const CallableId plus = register_ok(image("plus"));
  const CallableId sum = register_ok(image("sum"));
  EXPECT_NE(info(plus).buffer_generation, info(sum).buffer_generation);
  EXPECT_EQ(worker_->kernel_names(plus)->at(1), "plus");
  EXPECT_EQ(worker_->kernel_names(sum)->at(1), "sum");
  EXPECT_EQ(run_vector(sum).kernel_names.at(1), "sum");
}

TEST_P(KernelNamesTest, AnUnregisteredIdIsNotFound) {
  const CallableId id = register_ok(named_vector_image());
  unregister_ok(id);
  EXPECT_EQ(worker_->kernel_names(id).status().code(), StatusCode::not_found);
  EXPECT_EQ(worker_->kernel_names(12345).status().code(), StatusCode::not_found);
}

INSTANTIATE_TEST_SUITE_P(SimChips, KernelNamesTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

}  // namespace
}  // namespace chiprt::test

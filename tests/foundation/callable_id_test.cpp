// Generation-tagged callable ids (I10): a slot freed and handed to another registration gets a
// new generation, so an id held from before answers not_found for run, unregister and info,
// never reaching the new registration. Slots stay the smallest free, with no cap. Runs on
// SimChip a2a3 and a5, tmr and hbg; the registry-level cases run on a2a3 on both runtimes.
#include <cstring>

#include "registry/callable_registry.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

constexpr int64_t kRows = 4;
constexpr int64_t kCols = 8;
constexpr float kA = 2.0f;
constexpr float kB = 3.0f;
// The vector orchestration computes s = op1(a, b); t1 = s + 1; t2 = s + 2; f = op3(t1, t2);
// f = op1(f, s), where op1 is the kernel under func_id 1 and op3 the one under func_id 3.
// The example maps 1 -> add, 3 -> mul: s = 5, f = 6 * 7 + 5 = 47.
constexpr float kAddMulOutput = 47.0f;
// Swapped, 1 -> mul, 3 -> add: s = 6, f = (7 + 8) * 6 = 90.
constexpr float kMulAddOutput = 90.0f;

Bytes add_mul_image() {
  return vector_image("add-mul");
}

Bytes mul_add_image() {
  return make_image(example_so("orch_vector.so"),
                    {{1, CoreType::aiv, &example_so("kernel_mul.so")},
                     {2, CoreType::aiv, &example_so("kernel_add_scalar.so")},
                     {3, CoreType::aiv, &example_so("kernel_add.so")}},
                    "mul-add");
}

RunArgs vector_args() {
  RunArgs args;
  for (auto [name, value] : {std::pair{"a", kA}, std::pair{"b", kB}}) {
    HostTensor tensor{CHIPRT_DTYPE_F32, {kRows, kCols}, Bytes(kRows * kCols * sizeof(float))};
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      std::memcpy(tensor.data.data() + i * sizeof(float), &value, sizeof(float));
    }
    args.tensors.emplace(name, std::move(tensor));
  }
  return args;
}

class CallableIdTest : public WorkerTest {
 protected:
  // Runs `id` on the vector arguments; every element of `f` must be `expected`.
  void expect_runs_to(CallableId id, float expected) {
    Result<RunReport> report = worker_->run(id, vector_args());
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    auto f = report->outputs.find("f");
    ASSERT_NE(f, report->outputs.end());
    ASSERT_EQ(f->second.data.size(), kRows * kCols * sizeof(float));
    for (int64_t i = 0; i < kRows * kCols; ++i) {
      float value;
      std::memcpy(&value, f->second.data.data() + i * sizeof(float), sizeof(float));
      ASSERT_EQ(value, expected) << "element " << i;
    }
  }
  void expect_not_found(CallableId id) {
    const Result<RunReport> run = worker_->run(id, vector_args());
    EXPECT_EQ(run.status().code(), StatusCode::not_found) << run.status().to_string();
    const Status unregister = worker_->unregister_callable(id);
    EXPECT_EQ(unregister.code(), StatusCode::not_found) << unregister.to_string();
    const Result<CallableInfo> described = worker_->callable_info(id);
    EXPECT_EQ(described.status().code(), StatusCode::not_found) << described.status().to_string();
  }
};

TEST_P(CallableIdTest, StaleIdNeverReachesTheCallableThatReusedItsSlot) {
  const Bytes image_a = add_mul_image();
  const Bytes image_b = mul_add_image();
  ASSERT_NE(image_a, image_b);

  const CallableId a = register_ok(image_a);
  EXPECT_EQ(a, id_at(0, 0)) << "the first registration on a fresh worker";
  expect_runs_to(a, kAddMulOutput);
  unregister_ok(a);

  const CallableId b = register_ok(image_b);
  EXPECT_EQ(b, id_at(0, 1)) << "B reuses A's slot, one generation on";
  ASSERT_NE(b, a);
  expect_runs_to(b, kMulAddOutput);

  expect_not_found(a);
  expect_not_found(id_at(0, 2));  // an id from a generation not handed out yet

  // The stale unregister took nothing from B.
  EXPECT_EQ(info(b).refcount, 1u);
  EXPECT_EQ(worker_->stats().registrations_live, 1u);
  EXPECT_EQ(callable_live_allocations(*device_), 1u);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image_b));
  expect_runs_to(b, kMulAddOutput);

  unregister_ok(b);
  expect_not_found(b);
  expect_back_to_baseline();
}

TEST_P(CallableIdTest, StaleUnregisterOfTheSameImageKeepsTheNewRegistrationsReference) {
  const Bytes image = add_mul_image();
  const CallableId first = register_ok(image);
  unregister_ok(first);
  const CallableId second = register_ok(image);
  EXPECT_EQ(second, id_at(0, 1));

  EXPECT_EQ(worker_->unregister_callable(first).code(), StatusCode::not_found);
  EXPECT_EQ(info(second).refcount, 1u);
  EXPECT_EQ(worker_->stats().registrations_live, 1u);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image));
  EXPECT_EQ(worker_->stats().unloads, 4u) << "only the first buffer's code, released on unregister";
  expect_runs_to(second, kAddMulOutput);

  unregister_ok(second);
  expect_back_to_baseline();
}

TEST_P(CallableIdTest, AFreedSlotIsTheNextOneUsedWithANewGeneration) {
  const std::vector<Bytes> images = distinct_vector_images(3);
  for (uint64_t slot = 0; slot < 6; ++slot) {
    EXPECT_EQ(register_ok(images[slot % images.size()]), id_at(slot, 0));
  }

  unregister_ok(id_at(3, 0));
  EXPECT_EQ(register_ok(images[0]), id_at(3, 1));
  EXPECT_EQ(worker_->callable_info(id_at(3, 0)).status().code(), StatusCode::not_found);
  EXPECT_EQ(info(id_at(3, 1)).buffer_addr, info(id_at(0, 0)).buffer_addr) << "images[0]";

  // Freed again, the same slot comes back one more generation on; the others are untouched.
  unregister_ok(id_at(3, 1));
  unregister_ok(id_at(1, 0));
  EXPECT_EQ(register_ok(images[1]), id_at(1, 1));
  EXPECT_EQ(register_ok(images[2]), id_at(3, 2));
  EXPECT_EQ(register_ok(images[0]), id_at(6, 0)) << "no free slot below: a new one";
  for (uint64_t slot : {0, 2, 4, 5}) {
    EXPECT_TRUE(worker_->callable_info(id_at(slot, 0)).ok()) << "slot " << slot;
  }
  EXPECT_EQ(worker_->stats().registrations_live, 7u);

  // Trailing slots freed and taken again keep their generations too.
  unregister_ok(id_at(6, 0));
  unregister_ok(id_at(5, 0));
  EXPECT_EQ(register_ok(images[0]), id_at(5, 1));
  EXPECT_EQ(register_ok(images[0]), id_at(6, 1));
  EXPECT_EQ(worker_->unregister_callable(id_at(6, 0)).code(), StatusCode::not_found);

  for (const CallableId id : {id_at(0, 0), id_at(1, 1), id_at(2, 0), id_at(3, 2), id_at(4, 0),
                              id_at(5, 1), id_at(6, 1)}) {
    unregister_ok(id);
  }
  expect_back_to_baseline();
}

TEST_P(CallableIdTest, OneSlotReusedManyTimesNeverRepeatsAnIdOrGrows) {
  constexpr uint64_t kCycles = 1000;
  const Bytes image = vector_image();
  const CallableId held = register_ok(image);  // keeps the buffer: the cycles cost no loads
  ASSERT_EQ(held, id_at(0, 0));
  for (uint64_t cycle = 0; cycle < kCycles; ++cycle) {
    const CallableId id = register_ok(image);
    ASSERT_EQ(id, id_at(1, cycle));
    unregister_ok(id);
    ASSERT_EQ(worker_->unregister_callable(id).code(), StatusCode::not_found);
  }
  EXPECT_EQ(register_ok(image), id_at(1, kCycles));
  EXPECT_EQ(register_ok(image), id_at(2, 0));
  EXPECT_EQ(worker_->stats().registrations_total, kCycles + 3);
  EXPECT_EQ(worker_->stats().loads, 4u);
  EXPECT_EQ(info(held).refcount, 3u);
}

TEST_P(CallableIdTest, ManyLiveRegistrationsHaveNoCapAndComeBackOneGenerationOn) {
  constexpr uint64_t kRegistrations = 5000;
  const std::vector<Bytes> images = distinct_vector_images(10);
  for (uint64_t slot = 0; slot < kRegistrations; ++slot) {
    ASSERT_EQ(register_ok(images[slot % images.size()]), id_at(slot, 0));
  }
  EXPECT_EQ(worker_->stats().registrations_live, kRegistrations);
  for (uint64_t slot = 0; slot < kRegistrations; ++slot) unregister_ok(id_at(slot, 0));
  expect_back_to_baseline();

  for (uint64_t slot = 0; slot < kRegistrations; ++slot) {
    ASSERT_EQ(register_ok(images[slot % images.size()]), id_at(slot, 1));
  }
  for (uint64_t slot = 0; slot < kRegistrations; slot += 499) {
    EXPECT_EQ(worker_->callable_info(id_at(slot, 0)).status().code(), StatusCode::not_found);
  }
  for (uint64_t slot = 0; slot < kRegistrations; ++slot) unregister_ok(id_at(slot, 1));
  expect_back_to_baseline();
}

INSTANTIATE_TEST_SUITE_P(SimChips, CallableIdTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

// The registry on its own: what finalize-style release and generation exhaustion do to ids.
class RegistryGenerationTest : public testing::TestWithParam<RuntimeKind> {
 protected:
  std::shared_ptr<Device> device_ = make_device(Backend::a2a3);
  registry::ChipBufferPool pool_{*device_, GetParam(), worker_loader(*device_, GetParam()), {}};
  Bytes image_ = vector_image("generations");
};

// release_all drops every registration, but an id from before it is still stale afterwards.
TEST_P(RegistryGenerationTest, IdsFromBeforeReleaseAllStayStale) {
  registry::CallableRegistry registry(pool_);
  const auto zero = registry.register_image(image_);
  const auto one = registry.register_image(image_);
  ASSERT_TRUE(zero.ok() && one.ok());
  EXPECT_EQ(*zero, id_at(0, 0));
  EXPECT_EQ(*one, id_at(1, 0));
  EXPECT_EQ(registry.release_all(), 2u);

  const auto again = registry.register_image(image_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, id_at(0, 1)) << "slot 0 is free again, one generation on";
  EXPECT_EQ(registry.lease(*zero).status().code(), StatusCode::not_found);
  EXPECT_EQ(registry.info(*one).status().code(), StatusCode::not_found);
  EXPECT_EQ(registry.unregister(*zero).code(), StatusCode::not_found);
  EXPECT_EQ(registry.live(), 1u);
  EXPECT_TRUE(registry.unregister(*again).ok());
  EXPECT_EQ(callable_live_bytes(*device_), 0u);
}

// A slot whose generation counter is used up is retired rather than wrapped: its ids never
// come back, and the next registration takes the next free slot.
TEST_P(RegistryGenerationTest, ASlotWhoseGenerationsRunOutIsRetired) {
  constexpr uint64_t kLast = UINT32_MAX;
  registry::CallableRegistry registry(pool_, /*first_generation=*/kLast - 1);
  const auto before_last = registry.register_image(image_);
  ASSERT_TRUE(before_last.ok());
  EXPECT_EQ(*before_last, id_at(0, kLast - 1));
  ASSERT_TRUE(registry.unregister(*before_last).ok());
  const auto last = registry.register_image(image_);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, id_at(0, kLast));
  ASSERT_TRUE(registry.unregister(*last).ok());

  const auto next = registry.register_image(image_);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, id_at(1, kLast - 1)) << "slot 0 is retired";
  for (CallableId stale : {*before_last, *last, id_at(0, 0)}) {
    EXPECT_EQ(registry.lease(stale).status().code(), StatusCode::not_found) << stale;
  }
  EXPECT_TRUE(registry.unregister(*next).ok());
  const auto after = registry.register_image(image_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, id_at(1, kLast));
  EXPECT_TRUE(registry.unregister(*after).ok());
  EXPECT_EQ(callable_live_bytes(*device_), 0u);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RegistryGenerationTest,
                         testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt::test

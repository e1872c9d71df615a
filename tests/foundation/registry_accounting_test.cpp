// Device-memory accounting of the registry: release on last unregister (I2), one buffer per
// distinct image with exact byte counts (I1), smallest-free ids without a cap (I10), and errors
// for unknown ids. Runs on SimChip a2a3 and a5, tmr and hbg.
#include <algorithm>
#include <numeric>

#include "worker_fixture.h"

namespace chiprt::test {
namespace {

constexpr uint32_t kLoadsPerVectorImage = 4;  // orchestration + 3 kernels

class RegistryAccountingTest : public WorkerTest {};

TEST_P(RegistryAccountingTest, DistinctRegisteredThenUnregisteredReturnsToBaseline) {
  const std::vector<Bytes> images = distinct_vector_images(20);
  std::vector<CallableId> ids;
  for (const Bytes& image : images) ids.push_back(register_ok(image));
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(images));
  EXPECT_EQ(callable_live_allocations(*device_), images.size());

  for (CallableId id : ids) unregister_ok(id);
  expect_back_to_baseline();
  EXPECT_EQ(worker_->stats().device.tag(MemoryTag::callable).peak_bytes, allocation_bytes(images));
  EXPECT_EQ(worker_->stats().unloads, images.size() * kLoadsPerVectorImage);
}

// What the device itself counted (I12): one allocation and one placement upload per distinct
// image, of exactly the bytes the image's header says the runtime keeps, and nothing uploaded
// into a callable buffer after that.
TEST_P(RegistryAccountingTest, DeviceCountsOnePlacementUploadPerDistinctImage) {
  const std::vector<Bytes> images = distinct_vector_images(12);
  const TagStats before = device_->stats().tag(MemoryTag::callable);
  std::vector<CallableId> ids;
  for (int round = 0; round < 2; ++round) {
    for (const Bytes& image : images) ids.push_back(register_ok(image));
  }
  uint64_t placed_bytes = 0;
  for (const Bytes& image : images) placed_bytes += device_bytes(image);
  const TagStats counted = device_->stats().tag(MemoryTag::callable);
  EXPECT_EQ(counted.total_allocations - before.total_allocations, images.size());
  EXPECT_EQ(counted.uploads - before.uploads, images.size());
  EXPECT_EQ(counted.upload_bytes - before.upload_bytes, placed_bytes);
  EXPECT_EQ(counted.reuploads, 0u);
  EXPECT_EQ(worker_->stats().orch_uploads, 0u);
  for (CallableId id : ids) unregister_ok(id);
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).frees - before.frees, images.size());
  expect_back_to_baseline();
}

// The signature section is host metadata: the host checks a run's arguments against it and
// nothing on the device reads it, so neither runtime places it. A signed image costs the device
// exactly what the same parts unsigned cost (the signature is appended after the last kernel),
// the device counts exactly those bytes uploaded, and the signature's bytes are nowhere in
// device memory while the code's are.
TEST_P(RegistryAccountingTest, SignedAndUnsignedImagesPlaceTheirCodeAndNotTheSignature) {
  const Bytes unsigned_image = vector_image("same-parts");
  const Bytes signed_image = signed_vector_image("same-parts");
  const ImageView view = parse_ok(signed_image);
  ASSERT_GT(view.signature_size(), 0u);
  ASSERT_GE(view.signature_offset(), unsigned_image.size());  // appended, after any padding
  const ByteSpan signature_bytes =
      ByteSpan(signed_image).subspan(view.signature_offset(), view.signature_size());
  ASSERT_EQ(count_in_live_device_memory(*device_, signature_bytes), 0u);

  // tmr holds the whole unsigned file; hbg holds it less the orchestration.
  const uint64_t unsigned_file = unsigned_image.size();
  const uint64_t hbg_copy = unsigned_file - (view.kernels_begin() - view.header_size());
  const uint64_t expected = runtime() == RuntimeKind::tmr ? unsigned_file : hbg_copy;
  EXPECT_EQ(device_bytes(unsigned_image), expected);
  EXPECT_EQ(device_bytes(signed_image), expected);

  for (const Bytes* image : {&unsigned_image, &signed_image}) {
    const TagStats before = device_->stats().tag(MemoryTag::callable);
    const CallableId id = register_ok(*image);
    const TagStats after = device_->stats().tag(MemoryTag::callable);
    EXPECT_EQ(after.upload_bytes - before.upload_bytes, expected);
    EXPECT_EQ(after.live_bytes - before.live_bytes, device_->allocation_size(expected));
    EXPECT_EQ(count_in_live_device_memory(*device_, signature_bytes), 0u);
    EXPECT_EQ(count_in_live_device_memory(*device_, example_so("kernel_mul.so")), 1u);
    EXPECT_EQ(info(id).buffer_bytes, device_->allocation_size(expected));
    unregister_ok(id);
  }
  expect_back_to_baseline();
}

TEST_P(RegistryAccountingTest, SameImageTwiceSharesOneBufferWithRefcountTwo) {
  const Bytes image = vector_image();
  const CallableId first = register_ok(image);
  const CallableId second = register_ok(image);
  EXPECT_EQ(first, id_at(0, 0));
  EXPECT_EQ(second, id_at(1, 0));

  const CallableInfo a = info(first);
  const CallableInfo b = info(second);
  EXPECT_EQ(a.buffer_addr, b.buffer_addr);
  EXPECT_EQ(a.buffer_generation, b.buffer_generation);
  EXPECT_EQ(a.refcount, 2u);
  EXPECT_EQ(b.refcount, 2u);
  EXPECT_EQ(a.orch_entry, b.orch_entry);
  EXPECT_EQ(callable_live_allocations(*device_), 1u);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image));

  WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.loads, kLoadsPerVectorImage);
  EXPECT_EQ(loader_->calls(), kLoadsPerVectorImage);
  EXPECT_EQ(stats.buffers_created, 1u);
  EXPECT_EQ(stats.distinct_buffers_live, 1u);
  EXPECT_EQ(stats.registrations_live, 2u);
  EXPECT_EQ(stats.refcount_histogram, (std::map<uint32_t, uint64_t>{{2, 1}}));

  unregister_ok(first);
  const CallableInfo survivor = info(second);
  EXPECT_EQ(survivor.refcount, 1u);
  EXPECT_EQ(survivor.buffer_addr, a.buffer_addr);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image));
  EXPECT_EQ(loader_->alive(), static_cast<int64_t>(kLoadsPerVectorImage));
  EXPECT_EQ(worker_->stats().unloads, 0u);

  unregister_ok(second);
  expect_back_to_baseline();
  EXPECT_EQ(worker_->stats().unloads, kLoadsPerVectorImage);
}

TEST_P(RegistryAccountingTest, LiveDistinctImagesCostExactlyTheirAllocationSizes) {
  // Images of different sizes, among them one with no kernels; each registered twice.
  std::vector<Bytes> images = distinct_vector_images(6);
  images.push_back(fixture_image_a());
  images.push_back(fixture_image_b());
  images.push_back(make_image(fixture_so("fixture_orch_a.so"), {}, "no-kernels"));
  images.push_back(make_image(example_so("orch_vector.so"),
                              {{4, CoreType::aic, &example_so("kernel_matmul.so")}}, "matmul"));
  std::set<DeviceAddr> addresses;
  for (const Bytes& image : images) {
    const CallableId id = register_ok(image);
    register_ok(image);
    const CallableInfo placed = info(id);
    EXPECT_EQ(placed.buffer_bytes, allocation_bytes(image));
    addresses.insert(placed.buffer_addr);
  }
  EXPECT_EQ(addresses.size(), images.size());

  const DeviceStats stats = device_->stats();
  EXPECT_EQ(stats.tag(MemoryTag::callable).live_bytes, allocation_bytes(images));
  EXPECT_EQ(stats.tag(MemoryTag::callable).live_allocations, images.size());
  // No separate orchestration allocation under any tag.
  EXPECT_EQ(stats.live_allocations, baseline_.live_allocations + images.size());
  EXPECT_EQ(stats.live_bytes, baseline_.live_bytes + allocation_bytes(images));
  EXPECT_EQ(worker_->stats().orch_uploads, 0u);
  EXPECT_EQ(worker_->stats().refcount_histogram,
            (std::map<uint32_t, uint64_t>{{2, images.size()}}));

  worker_->finalize();
  expect_back_to_baseline();
}

TEST_P(RegistryAccountingTest, IdsAreTheSmallestFree) {
  // Ids are (slot, generation); a slot's generation moves on each time it is freed.
  const std::vector<Bytes> images = distinct_vector_images(2);
  for (uint64_t slot = 0; slot < 5; ++slot) {
    EXPECT_EQ(register_ok(images[slot % 2]), id_at(slot, 0));
  }
  unregister_ok(id_at(3, 0));
  unregister_ok(id_at(1, 0));
  EXPECT_EQ(register_ok(images[0]), id_at(1, 1));
  EXPECT_EQ(register_ok(images[1]), id_at(3, 1));
  EXPECT_EQ(register_ok(images[0]), id_at(5, 0));
  unregister_ok(id_at(5, 0));
  unregister_ok(id_at(4, 0));
  EXPECT_EQ(register_ok(images[1]), id_at(4, 1));
  EXPECT_EQ(register_ok(images[1]), id_at(5, 1));
  unregister_ok(id_at(0, 0));
  EXPECT_EQ(register_ok(images[1]), id_at(0, 1));
}

TEST_P(RegistryAccountingTest, UnknownIdAndDoubleUnregisterAreNotFound) {
  EXPECT_EQ(worker_->unregister_callable(0).code(), StatusCode::not_found);
  EXPECT_EQ(worker_->unregister_callable(12345).code(), StatusCode::not_found);
  EXPECT_EQ(worker_->callable_info(7).status().code(), StatusCode::not_found);
  EXPECT_EQ(worker_->callable_info(id_at(0, 1)).status().code(), StatusCode::not_found);

  const Bytes image = vector_image();
  const CallableId kept = register_ok(image);
  const CallableId dropped = register_ok(image);
  unregister_ok(dropped);
  EXPECT_EQ(worker_->unregister_callable(dropped).code(), StatusCode::not_found);
  EXPECT_EQ(worker_->callable_info(dropped).status().code(), StatusCode::not_found);
  // The failed second unregister did not take the surviving registration's reference.
  EXPECT_EQ(info(kept).refcount, 1u);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image));
  EXPECT_EQ(worker_->stats().registrations_live, 1u);

  unregister_ok(kept);
  EXPECT_EQ(worker_->unregister_callable(kept).code(), StatusCode::not_found);
  expect_back_to_baseline();
}

INSTANTIATE_TEST_SUITE_P(SimChips, RegistryAccountingTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

class RegistryScaleTest : public WorkerTest {};

TEST_P(RegistryScaleTest, TenThousandLiveRegistrationsOfOneHundredImages) {
  constexpr CallableId kRegistrations = 10'000;
  const std::vector<Bytes> images = distinct_vector_images(100);
  for (CallableId i = 0; i < kRegistrations; ++i) {
    ASSERT_EQ(register_ok(images[i % images.size()]), id_at(i, 0));
  }
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.registrations_live, kRegistrations);
  EXPECT_EQ(stats.distinct_buffers_live, images.size());
  EXPECT_EQ(stats.refcount_histogram, (std::map<uint32_t, uint64_t>{{100, 100}}));
  EXPECT_EQ(stats.loads, images.size() * kLoadsPerVectorImage);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_bytes, allocation_bytes(images));
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_allocations, images.size());

  for (CallableId i = 0; i < kRegistrations; ++i) unregister_ok(id_at(i, 0));
  expect_back_to_baseline();
  EXPECT_EQ(register_ok(images[0]), id_at(0, 1));
}

INSTANTIATE_TEST_SUITE_P(SimChips, RegistryScaleTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

}  // namespace
}  // namespace chiprt::test

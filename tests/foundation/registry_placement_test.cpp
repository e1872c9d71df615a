// Where and how an image is placed on the device: one byte-identical copy whose only patched
// bytes are the child descriptors' resolved addresses (I1, I4); hbg leaves the orchestration on
// the host (I7); dedup never confuses two images (I3); a reused address never serves stale
// code (I6). Runs on SimChip a2a3 and a5.
#include "chiprt/abi/image_format.h"
#include "support/image_bytes.h"
#include "worker_fixture.h"

namespace chiprt::test {
namespace {

class PlacementTest : public WorkerTest {
 protected:
  // The device copy of `image`'s header, with every resolved address checked against the
  // kernel placement and then cleared (and the hbg elision flag checked and cleared), so that
  // it can be compared with the caller's header byte for byte.
  Bytes device_header_without_patches(const CallableInfo& placed, const ImageView& view) {
    Bytes header = read_device(*device_, placed.buffer_addr, view.header_size());
    const uint64_t kernel_shift = tmr() ? 0 : view.kernels_begin() - view.header_size();
    EXPECT_EQ(placed.kernels.size(), view.children().size());
    for (uint32_t i = 0; i < view.children().size(); ++i) {
      const ImageChild& child = view.children()[i];
      const DeviceAddr expected = placed.buffer_addr + child.offset - kernel_shift;
      EXPECT_EQ(read_child(header, i).resolved_device_addr, expected) << "child " << i;
      const auto kernel =
          std::find_if(placed.kernels.begin(), placed.kernels.end(),
                       [&](const KernelInfo& k) { return k.func_id == child.func_id; });
      EXPECT_NE(kernel, placed.kernels.end());
      if (kernel != placed.kernels.end()) {
        EXPECT_EQ(kernel->addr, expected);
        EXPECT_EQ(kernel->size, child.size);
        EXPECT_EQ(kernel->core, child.core);
      }
      EXPECT_EQ(read_device(*device_, expected, child.size),
                Bytes(view.child_bytes(child).begin(), view.child_bytes(child).end()));
      edit_child(header, i, [](chiprt_image_child_t& c) { c.resolved_device_addr = 0; });
    }
    edit_header(header, [&](chiprt_image_header_t& h) {
      EXPECT_EQ(h.flags, tmr() ? 0u : CHIPRT_IMAGE_FLAG_ORCH_ELIDED);
      h.flags = 0;
    });
    return header;
  }
};

TEST_P(PlacementTest, DeviceCopyPatchesOnlyResolvedAddresses) {
  const Bytes image = vector_image();
  const Bytes pristine = image;
  const ImageHash hash_before = hash_bytes(image);
  const ImageView view = parse_ok(image);
  const CallableInfo placed = info(register_ok(image));

  const Bytes header(image.begin(), image.begin() + static_cast<ptrdiff_t>(view.header_size()));
  EXPECT_EQ(device_header_without_patches(placed, view), header);
  EXPECT_EQ(hash_bytes(image), hash_before);
  EXPECT_EQ(image, pristine);
}

TEST_P(PlacementTest, CodeIsLoadedFromTheDeviceCopy) {
  const Bytes image = vector_image();
  const CallableInfo placed = info(register_ok(image));
  const auto sources = loader_->sources();
  ASSERT_EQ(sources.size(), 1 + placed.kernels.size());
  const auto [orch_data, orch_size] = sources[0];
  EXPECT_EQ(orch_size, example_so("orch_vector.so").size());
  if (tmr()) {
    EXPECT_EQ(orch_data, device_->host_pointer(placed.orch_addr, placed.orch_size))
        << "the AICPU loads the orchestration from inside the buffer";
  } else {
    const std::byte* buffer = device_->host_pointer(placed.buffer_addr, placed.buffer_bytes);
    ASSERT_NE(buffer, nullptr);
    const auto at = reinterpret_cast<uintptr_t>(orch_data);
    const auto device_begin = reinterpret_cast<uintptr_t>(buffer);
    EXPECT_TRUE(at + orch_size <= device_begin || at >= device_begin + placed.buffer_bytes)
        << "hbg loads the orchestration from host memory";
  }
  // The vector image lists its kernels in func_id order, the order of CallableInfo::kernels.
  for (size_t i = 0; i < placed.kernels.size(); ++i) {
    const KernelInfo& kernel = placed.kernels[i];
    EXPECT_EQ(sources[1 + i].first, device_->host_pointer(kernel.addr, kernel.size))
        << "kernel func_id " << kernel.func_id << " loads from its device bytes";
    EXPECT_EQ(sources[1 + i].second, kernel.size);
  }
}

class TmrPlacementTest : public PlacementTest {};

TEST_P(TmrPlacementTest, OrchestrationIsReadFromInsideTheSingleCopy) {
  const Bytes image = vector_image();
  const ImageView view = parse_ok(image);
  const CallableInfo placed = info(register_ok(image));

  EXPECT_TRUE(placed.orch_on_device);
  EXPECT_EQ(placed.orch_addr, placed.buffer_addr + view.orch_offset());
  EXPECT_EQ(placed.orch_size, example_so("orch_vector.so").size());
  EXPECT_EQ(read_device(*device_, placed.orch_addr, placed.orch_size),
            example_so("orch_vector.so"));
  // The whole device copy is the caller's image except the resolved addresses.
  Bytes expected = image;
  for (uint32_t i = 0; i < view.children().size(); ++i) {
    edit_child(expected, i, [&](chiprt_image_child_t& c) {
      c.resolved_device_addr = placed.buffer_addr + c.offset;
    });
  }
  EXPECT_EQ(read_device(*device_, placed.buffer_addr, image.size()), expected);
  // Exactly one copy of the orchestration in all of device memory, and no other allocation.
  EXPECT_EQ(count_in_live_device_memory(*device_, example_so("orch_vector.so")), 1u);
  EXPECT_EQ(device_->stats().live_allocations, baseline_.live_allocations + 1);
  EXPECT_EQ(worker_->stats().orch_uploads, 0u);
}

class HbgPlacementTest : public PlacementTest {};

TEST_P(HbgPlacementTest, BufferHoldsHeaderAndKernelsOnly) {
  const std::vector<Bytes> images = distinct_vector_images(3);
  std::vector<CallableInfo> placed;
  for (const Bytes& image : images) placed.push_back(info(register_ok(image)));

  for (size_t i = 0; i < images.size(); ++i) {
    const ImageView view = parse_ok(images[i]);
    const ImageChild& first = view.children().front();
    const ImageChild& last = view.children().back();
    const uint64_t header_and_kernels =
        view.header_size() + (last.offset + last.size - first.offset);
    EXPECT_EQ(placed[i].buffer_bytes, device_->allocation_size(header_and_kernels));
    EXPECT_LT(placed[i].buffer_bytes, device_->allocation_size(view.size()));
    EXPECT_FALSE(placed[i].orch_on_device);
    EXPECT_EQ(placed[i].orch_addr, 0u);
    EXPECT_NE(placed[i].orch_entry, nullptr);
  }
  EXPECT_EQ(count_in_live_device_memory(*device_, example_so("orch_vector.so")), 0u);
  EXPECT_EQ(count_in_live_device_memory(*device_, example_so("kernel_add_scalar.so")),
            images.size());
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(images));
}

TEST_P(PlacementTest, ForcedHashCollisionKeepsImagesApart) {
  WorkerOptions options;
  options.identity_hash = [](const ImageView&) { return ImageHash{0x1234, 0x5678}; };
  recreate(kDefaultCapacity, options);
  const Bytes image_a = fixture_image_a("collide");
  const Bytes image_b = fixture_image_b("collide");
  ASSERT_EQ(image_a.size(), image_b.size()) << "a collision needs equal (hash, size) keys";
  ASSERT_NE(image_a, image_b);

  const CallableId a = register_ok(image_a);
  const CallableId b = register_ok(image_b);
  const CallableId a_again = register_ok(image_a);
  const CallableInfo info_a = info(a);
  const CallableInfo info_b = info(b);
  EXPECT_NE(info_a.buffer_addr, info_b.buffer_addr);
  EXPECT_NE(info_a.buffer_generation, info_b.buffer_generation);
  EXPECT_EQ(info(a_again).buffer_generation, info_a.buffer_generation);
  EXPECT_EQ(info_a.refcount, 2u);
  EXPECT_EQ(info_b.refcount, 1u);
  EXPECT_EQ(orchestration_marker(*worker_, a), kOrchAMarker);
  EXPECT_EQ(orchestration_marker(*worker_, b), kOrchBMarker);
  EXPECT_EQ(kernel_marker(*worker_, a, info_a.kernels[0]), kKernelAMarker);
  EXPECT_EQ(kernel_marker(*worker_, b, info_b.kernels[0]), kKernelBMarker);
  EXPECT_EQ(callable_live_allocations(*device_), 2u);
  EXPECT_EQ(callable_live_bytes(*device_), allocation_bytes(image_a) + allocation_bytes(image_b));

  unregister_ok(a);
  unregister_ok(b);
  EXPECT_EQ(orchestration_marker(*worker_, a_again), kOrchAMarker);
  unregister_ok(a_again);
  expect_back_to_baseline();
}

TEST_P(PlacementTest, ReusedAddressServesTheNewImagesCode) {
  const Bytes image_a = fixture_image_a();
  const Bytes image_b = fixture_image_b();
  const CallableId a = register_ok(image_a);
  const CallableInfo info_a = info(a);
  ASSERT_EQ(orchestration_marker(*worker_, a), kOrchAMarker);
  unregister_ok(a);

  const CallableId b = register_ok(image_b);
  const CallableInfo info_b = info(b);
  ASSERT_EQ(info_b.buffer_addr, info_a.buffer_addr) << "B must land where A was";
  EXPECT_NE(info_b.buffer_generation, info_a.buffer_generation);
  EXPECT_EQ(orchestration_marker(*worker_, b), kOrchBMarker);
  ASSERT_EQ(info_b.kernels.size(), 2u);
  EXPECT_EQ(kernel_marker(*worker_, b, info_b.kernels[0]), kKernelBMarker);
  EXPECT_EQ(kernel_marker(*worker_, b, info_b.kernels[1]), kKernelAMarker);
  EXPECT_EQ(worker_->stats().loads, 6u);
}

INSTANTIATE_TEST_SUITE_P(SimChips, PlacementTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);
INSTANTIATE_TEST_SUITE_P(SimChips, TmrPlacementTest,
                         testing::ValuesIn(sim_chip_cases({RuntimeKind::tmr})), worker_case_name);
INSTANTIATE_TEST_SUITE_P(SimChips, HbgPlacementTest,
                         testing::ValuesIn(sim_chip_cases({RuntimeKind::hbg})), worker_case_name);

}  // namespace
}  // namespace chiprt::test

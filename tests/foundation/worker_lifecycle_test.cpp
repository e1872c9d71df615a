// ChipWorker lifecycle and threads: finalize is total and idempotent and runs on destruction
// (I8); register and unregister from many threads keep counts exact (I10). SimChip a2a3, a5.
#include <barrier>
#include <thread>

#include "worker_fixture.h"

namespace chiprt::test {
namespace {

class WorkerLifecycleTest : public WorkerTest {};

TEST_P(WorkerLifecycleTest, FinalizeWithLiveRegistrationsFreesEverythingOnce) {
  const std::vector<Bytes> images = distinct_vector_images(3);
  for (const Bytes& image : images) register_ok(image);
  register_ok(images[0]);
  ASSERT_EQ(callable_live_bytes(*device_), allocation_bytes(images));

  worker_->finalize();
  expect_back_to_baseline();
  const WorkerStats after_first = worker_->stats();
  EXPECT_EQ(after_first.leaked_registrations, 4u);
  EXPECT_EQ(after_first.unloads, 3u * 4u);
  // Freed once each, as the device counted: one callable buffer per distinct image, and no
  // release of an address that was not live.
  const TagStats& callable = after_first.device.tag(MemoryTag::callable);
  EXPECT_EQ(callable.total_allocations, 3u);
  EXPECT_EQ(callable.frees, 3u);
  EXPECT_EQ(after_first.device.bad_frees, 0u);

  worker_->finalize();
  const WorkerStats after_second = worker_->stats();
  EXPECT_EQ(after_second.leaked_registrations, 4u);
  EXPECT_EQ(after_second.unloads, after_first.unloads);
  EXPECT_EQ(after_second.device.live_bytes, after_first.device.live_bytes);
  EXPECT_EQ(after_second.device.tag(MemoryTag::callable).total_allocations,
            after_first.device.tag(MemoryTag::callable).total_allocations);
  EXPECT_EQ(after_second.device.tag(MemoryTag::callable).frees, 3u);
  EXPECT_EQ(after_second.device.bad_frees, 0u);
}

TEST_P(WorkerLifecycleTest, CallsAfterFinalizeAreFailedPrecondition) {
  const CallableId id = register_ok(vector_image());
  worker_->finalize();
  EXPECT_EQ(worker_->register_callable(vector_image()).status().code(),
            StatusCode::failed_precondition);
  EXPECT_EQ(worker_->unregister_callable(id).code(), StatusCode::failed_precondition);
  EXPECT_EQ(worker_->callable_info(id).status().code(), StatusCode::failed_precondition);
  EXPECT_EQ(worker_->run(id, {}).status().code(), StatusCode::failed_precondition);
  EXPECT_EQ(device_->stats().live_bytes, baseline_.live_bytes);
}

TEST_P(WorkerLifecycleTest, DestructionFinalizes) {
  for (const Bytes& image : distinct_vector_images(2)) register_ok(image);
  worker_.reset();
  EXPECT_EQ(device_->stats().live_bytes, baseline_.live_bytes);
  EXPECT_EQ(device_->stats().tag(MemoryTag::callable).live_allocations, 0u);
  EXPECT_EQ(loader_->alive(), 0);
}

TEST_P(WorkerLifecycleTest, ConcurrentDuplicateAndDistinctRegistrationsKeepExactCounts) {
  constexpr size_t kThreads = 4;
  constexpr size_t kSharedImages = 4;
  constexpr size_t kRoundsPerSharedImage = 25;
  constexpr size_t kOwnImagesPerThread = 2;
  const std::vector<Bytes> shared = distinct_vector_images(kSharedImages, "shared");
  std::vector<std::vector<Bytes>> own;
  for (size_t t = 0; t < kThreads; ++t) {
    own.push_back(distinct_vector_images(kOwnImagesPerThread, "own-" + std::to_string(t)));
  }
  std::vector<std::vector<CallableId>> ids(kThreads);
  std::vector<std::vector<CallableId>> transients(kThreads);
  std::barrier start(kThreads);

  // Phase 1: everyone registers the shared images (racing to create the same buffers) and
  // its own, while churning short-lived registrations.
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (size_t round = 0; round < kRoundsPerSharedImage; ++round) {
        for (const Bytes& image : shared) ids[t].push_back(register_ok(image));
        const CallableId transient = register_ok(own[t][round % kOwnImagesPerThread]);
        unregister_ok(transient);
        transients[t].push_back(transient);
      }
      for (const Bytes& image : own[t]) ids[t].push_back(register_ok(image));
    });
  }
  for (std::thread& thread : threads) thread.join();
  threads.clear();

  std::set<CallableId> all_ids;
  std::set<uint64_t> slots;
  for (const auto& per_thread : ids) {
    all_ids.insert(per_thread.begin(), per_thread.end());
    for (CallableId id : per_thread) slots.insert(id & 0xffffffffu);
  }
  const size_t live = kThreads * (kSharedImages * kRoundsPerSharedImage + kOwnImagesPerThread);
  ASSERT_EQ(all_ids.size(), live);
  ASSERT_EQ(slots.size(), live) << "no two live ids share a slot";
  EXPECT_EQ(*slots.rbegin(), live - 1) << "slots are exactly 0..live-1";
  // Every transient's slot went to some other registration: its id stays stale.
  for (const auto& per_thread : transients) {
    for (CallableId stale : per_thread) {
      ASSERT_FALSE(all_ids.contains(stale)) << stale;
      EXPECT_EQ(worker_->callable_info(stale).status().code(), StatusCode::not_found) << stale;
    }
  }
  const size_t distinct = kSharedImages + kThreads * kOwnImagesPerThread;
  const WorkerStats stats = worker_->stats();
  EXPECT_EQ(stats.registrations_live, live);
  EXPECT_EQ(stats.distinct_buffers_live, distinct);
  EXPECT_EQ(stats.refcount_histogram,
            (std::map<uint32_t, uint64_t>{{1, kThreads * kOwnImagesPerThread},
                                          {kThreads * kRoundsPerSharedImage, kSharedImages}}));
  uint64_t expected_bytes = allocation_bytes(shared);
  for (const auto& images : own) expected_bytes += allocation_bytes(images);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_bytes, expected_bytes);
  EXPECT_EQ(stats.device.tag(MemoryTag::callable).live_allocations, distinct);
  EXPECT_EQ(stats.loads - stats.unloads, distinct * 4);
  EXPECT_EQ(info(ids[0][0]).refcount, kThreads * kRoundsPerSharedImage);

  // Phase 2: everyone unregisters everything at once.
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (CallableId id : ids[t]) unregister_ok(id);
    });
  }
  for (std::thread& thread : threads) thread.join();
  expect_back_to_baseline();
}

INSTANTIATE_TEST_SUITE_P(SimChips, WorkerLifecycleTest, testing::ValuesIn(sim_chip_cases()),
                         worker_case_name);

}  // namespace
}  // namespace chiprt::test

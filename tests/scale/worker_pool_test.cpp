// WorkerPool: one worker per (runtime, device), each chip with its own memory; placement helpers
// and aggregated stats are exact.
#include <gtest/gtest.h>

#include "chiprt/worker_pool.h"
#include "foundation/test_support.h"

namespace chiprt {
namespace {

WorkerPoolOptions two_chips() {
  WorkerPoolOptions options;
  options.devices = 2;
  options.device_memory_bytes = 64ull << 20;
  return options;
}

TEST(WorkerPool, OneWorkerPerRuntimeAndDevice) {
  auto pool = WorkerPool::create(two_chips());
  ASSERT_TRUE(pool.ok()) << pool.status().to_string();
  std::set<ChipWorker*> seen;
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    for (size_t device = 0; device < 2; ++device) {
      auto worker = (*pool)->worker(runtime, device);
      ASSERT_TRUE(worker.ok());
      EXPECT_EQ((*worker)->runtime(), runtime);
      EXPECT_EQ(&(*worker)->device(), &(*pool)->device(device));
      seen.insert(*worker);
    }
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ((*pool)->worker(RuntimeKind::tmr, 2).status().code(), StatusCode::not_found);
}

TEST(WorkerPool, MissingRuntimeIsNotFound) {
  WorkerPoolOptions options = two_chips();
  options.runtimes = {RuntimeKind::hbg};
  auto pool = WorkerPool::create(options);
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ((*pool)->worker(RuntimeKind::tmr, 0).status().code(), StatusCode::not_found);
  EXPECT_EQ((*pool)->round_robin(RuntimeKind::tmr).status().code(), StatusCode::not_found);
}

TEST(WorkerPool, RejectsEmptyShapes) {
  WorkerPoolOptions options;
  options.devices = 0;
  EXPECT_EQ(WorkerPool::create(options).status().code(), StatusCode::invalid_argument);
  options.devices = 1;
  options.profile = "no-such-chip";
  EXPECT_EQ(WorkerPool::create(options).status().code(), StatusCode::not_found);
}

TEST(WorkerPool, ChipsHaveSeparateMemory) {
  auto pool = std::move(WorkerPool::create(two_chips())).value();
  const Bytes image = test::vector_image("separate");
  ChipWorker* on_zero = *pool->worker(RuntimeKind::tmr, 0);
  ASSERT_TRUE(on_zero->register_callable(image).ok());
  const uint64_t expected = test::placed_allocation(image, RuntimeKind::tmr);
  EXPECT_EQ(pool->device(0).stats().tag(MemoryTag::callable).live_bytes, expected);
  EXPECT_EQ(pool->device(1).stats().live_bytes, 0u);
}

TEST(WorkerPool, RoundRobinAlternatesDevices) {
  auto pool = std::move(WorkerPool::create(two_chips())).value();
  std::vector<const Device*> order;
  for (int i = 0; i < 4; ++i) order.push_back(&(*pool->round_robin(RuntimeKind::hbg))->device());
  EXPECT_NE(order[0], order[1]);
  EXPECT_EQ(order[0], order[2]);
  EXPECT_EQ(order[1], order[3]);
}

TEST(WorkerPool, LeastLoadedPicksFewestRegistrations) {
  auto pool = std::move(WorkerPool::create(two_chips())).value();
  const Bytes image = test::vector_image("load");
  ChipWorker* busy = *pool->worker(RuntimeKind::tmr, 0);
  ASSERT_TRUE(busy->register_callable(image).ok());
  ASSERT_TRUE(busy->register_callable(image).ok());
  EXPECT_EQ(*pool->least_loaded(RuntimeKind::tmr), *pool->worker(RuntimeKind::tmr, 1));
  ChipWorker* idle = *pool->worker(RuntimeKind::tmr, 1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(idle->register_callable(image).ok());
  EXPECT_EQ(*pool->least_loaded(RuntimeKind::tmr), busy);
}

TEST(WorkerPool, StatsAggregateAndFinalizeReportsLeaks) {
  auto pool = std::move(WorkerPool::create(two_chips())).value();
  const auto images = test::distinct_vector_images(3, "stats");
  for (size_t device = 0; device < 2; ++device) {
    for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      ChipWorker* worker = *pool->worker(runtime, device);
      for (const Bytes& image : images) ASSERT_TRUE(worker->register_callable(image).ok());
      ASSERT_TRUE(worker->register_callable(images[0]).ok());  // a duplicate
    }
  }
  WorkerPoolStats stats = pool->stats();
  ASSERT_EQ(stats.devices.size(), 2u);
  EXPECT_EQ(stats.registrations_live, 16u);
  EXPECT_EQ(stats.distinct_buffers_live, 12u);
  for (const DeviceSummary& d : stats.devices) {
    ASSERT_EQ(d.workers.size(), 2u);
    EXPECT_EQ(d.memory.tag(MemoryTag::callable).live_allocations, 6u);
    EXPECT_EQ(d.workers[0].refcount_histogram, (std::map<uint32_t, uint64_t>{{1, 2}, {2, 1}}));
  }
  pool->finalize();
  stats = pool->stats();
  EXPECT_EQ(stats.leaked_registrations, 16u);
  EXPECT_EQ(stats.distinct_buffers_live, 0u);
  for (const DeviceSummary& d : stats.devices) EXPECT_EQ(d.memory.live_bytes, 0u);
}

}  // namespace
}  // namespace chiprt

// Session-scale stress: 8 threads over 2 chips and both runtimes issue 20,000 mixed operations —
// registrations of duplicate and distinct images, runs, and unregisters that race with runs.
// Every run that starts must produce the right output, no operation may deadlock (a watchdog
// fails the test), and every chip must return to its baseline byte for byte.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "chiprt/worker_pool.h"
#include "example_images.h"
#include "foundation/test_support.h"

namespace chiprt {
namespace {

constexpr size_t kThreads = 8;
constexpr size_t kOperations = 20'000;
constexpr size_t kDistinct = 24;
constexpr auto kWatchdog = std::chrono::minutes(5);

// Registrations shared by all threads, so that one thread's unregister races another's run.
class LiveSet {
 public:
  void add(ChipWorker* worker, CallableId id) {
    std::lock_guard lock(mutex_);
    live_.emplace_back(worker, id);
  }
  std::optional<std::pair<ChipWorker*, CallableId>> pick(std::mt19937& rng, bool remove) {
    std::lock_guard lock(mutex_);
    if (live_.empty()) return std::nullopt;
    const size_t i = rng() % live_.size();
    auto entry = live_[i];
    if (remove) {
      live_[i] = live_.back();
      live_.pop_back();
    }
    return entry;
  }
  std::vector<std::pair<ChipWorker*, CallableId>> drain() {
    std::lock_guard lock(mutex_);
    return std::exchange(live_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<ChipWorker*, CallableId>> live_;
};

struct Tally {
  std::atomic<uint64_t> registrations{0}, runs{0}, wrong{0}, unregisters{0}, unexpected{0};
  std::mutex mutex;
  std::string first_unexpected;
  void failed(const Status& status) {
    ++unexpected;
    std::lock_guard lock(mutex);
    if (first_unexpected.empty()) first_unexpected = status.to_string();
  }
};

void worker_thread(WorkerPool& pool, const std::vector<Bytes>& images, LiveSet& live, Tally& tally,
                   unsigned seed, size_t operations) {
  std::mt19937 rng(seed);
  const RunArgs args = cli::vector_run_args(16, 16);
  for (size_t op = 0; op < operations; ++op) {
    const unsigned roll = rng() % 10;
    if (roll < 4) {  // register: a third of the time a duplicate of image 0
      const RuntimeKind runtime = rng() % 2 ? RuntimeKind::tmr : RuntimeKind::hbg;
      ChipWorker* worker = *pool.worker(runtime, rng() % pool.device_count());
      const Bytes& image = images[rng() % 3 == 0 ? 0 : rng() % images.size()];
      auto id = worker->register_callable(image);
      if (!id.ok()) {
        tally.failed(id.status());
        continue;
      }
      live.add(worker, *id);
      ++tally.registrations;
    } else if (roll < 8) {  // run something live; it may be unregistered under us
      auto entry = live.pick(rng, false);
      if (!entry) continue;
      auto report = entry->first->run(entry->second, args);
      if (report.ok()) {
        ++tally.runs;
        if (!cli::is_vector_golden(*report, 16 * 16)) ++tally.wrong;
      } else if (report.status().code() != StatusCode::not_found) {
        tally.failed(report.status());
      }
    } else {
      auto entry = live.pick(rng, true);
      if (!entry) continue;
      if (Status s = entry->first->unregister_callable(entry->second); s.ok()) {
        ++tally.unregisters;
      } else {
        tally.failed(s);
      }
    }
  }
}

TEST(Stress, MixedOperationsAcrossChipsAndRuntimes) {
  WorkerPoolOptions options;
  options.devices = 2;
  options.device_memory_bytes = 512ull << 20;
  // Every run in flight holds an intermediate heap of its worker's limit (device memory): keep
  // eight threads' worth on two runtimes well inside the device.
  options.worker.heap_bytes = 1 << 20;
  auto pool = std::move(WorkerPool::create(options)).value();
  std::vector<uint64_t> baseline;
  for (size_t d = 0; d < pool->device_count(); ++d) baseline.push_back(pool->device(d).stats().live_bytes);
  const std::vector<Bytes> images = test::distinct_vector_images(kDistinct, "stress");
  LiveSet live;
  Tally tally;

  auto done = std::async(std::launch::async, [&] {
    std::vector<std::thread> threads;
    for (size_t t = 0; t < kThreads; ++t) {
      threads.emplace_back(worker_thread, std::ref(*pool), std::cref(images), std::ref(live),
                           std::ref(tally), 1234 + t, kOperations / kThreads);
    }
    for (auto& thread : threads) thread.join();
  });
  if (done.wait_for(kWatchdog) != std::future_status::ready) {
    ADD_FAILURE() << "watchdog: the stress operations did not finish (deadlock?)";
    std::fflush(nullptr);
    std::_Exit(1);  // threads are stuck; nothing can be joined
  }
  for (auto [worker, id] : live.drain()) ASSERT_TRUE(worker->unregister_callable(id).ok());

  EXPECT_EQ(tally.unexpected, 0u) << tally.first_unexpected;
  EXPECT_EQ(tally.wrong, 0u);
  EXPECT_GT(tally.runs, 1000u);
  EXPECT_GT(tally.registrations, 1000u);
  const WorkerPoolStats stats = pool->stats();
  EXPECT_EQ(stats.registrations_live, 0u);
  EXPECT_EQ(stats.distinct_buffers_live, 0u);
  EXPECT_EQ(stats.runs, tally.runs.load() + 0u);
  for (size_t d = 0; d < pool->device_count(); ++d) {
    // The workers keep their intermediate heaps between runs: let them go before measuring.
    for (RuntimeKind r : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      (*pool->worker(r, d))->release_idle_memory();
    }
    EXPECT_EQ(pool->device(d).stats().live_bytes, baseline[d]) << "device " << d;
    EXPECT_EQ(pool->device(d).stats().tag(MemoryTag::callable).live_bytes, 0u);
    EXPECT_EQ(pool->device(d).stats().tag(MemoryTag::tensor).live_bytes, 0u);
  }
  std::printf("stress: %llu registrations, %llu runs, %llu unregisters, %llu deferred releases\n",
              (unsigned long long)tally.registrations, (unsigned long long)tally.runs,
              (unsigned long long)tally.unregisters, (unsigned long long)stats.deferred_releases);
}

}  // namespace
}  // namespace chiprt

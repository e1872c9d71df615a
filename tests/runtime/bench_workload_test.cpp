// The dispatch benchmarks' machinery (tools/bench_timer.h, tools/bench_dag.h): paired sampling
// and its statistics, the checks that void a record whose runs skipped or repeated work
// (tools/bench_check.h), the kernels' busy time (tools/interval_union.h), and the tiled-wavefront
// workload, whose dependencies come from partial views of one tensor and must hold on both
// runtimes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <future>
#include <ostream>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench_check.h"
#include "bench_dag.h"
#include "bench_timer.h"
#include "interval_union.h"
#include "runtime_test_util.h"

namespace chiprt::cli {
// Test names print the shape by name.
void PrintTo(DagShape shape, std::ostream* os) {
  *os << dag_shape_name(shape);
}
}  // namespace chiprt::cli

namespace chiprt::testing {
namespace {

TEST(BenchStatsTest, QuantilesInterpolateLinearlyBetweenRanks) {
  // Sorted: 1 2 3 4. Positions q * 3: 0.75, 1.5, 2.25.
  EXPECT_DOUBLE_EQ(cli::quantile({4, 1, 3, 2}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(cli::quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(cli::quantile({4, 1, 3, 2}, 0.75), 3.25);
  EXPECT_DOUBLE_EQ(cli::quantile({7}, 0.25), 7);
  EXPECT_DOUBLE_EQ(cli::quantile({}, 0.5), 0);
}

TEST(BenchStatsTest, InterleaveAlternatesMeasuredAndFloorAfterWarmup) {
  std::string calls;
  const cli::PairedSamples samples = cli::interleave(
      3,
      [&](size_t i) {
        calls += "M" + std::to_string(i) + " ";
        return 10.0 * static_cast<double>(i + 1);
      },
      [&](size_t i) {
        calls += "F" + std::to_string(i) + " ";
        return 1.0 * static_cast<double>(i + 1);
      },
      1);
  EXPECT_EQ(calls, "M0 F0 M0 F0 M1 F1 M2 F2 ");  // one unrecorded warm-up pair first
  EXPECT_EQ(samples.measured, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(samples.floor, (std::vector<double>{1, 2, 3}));
}

TEST(BenchStatsTest, RatioIsTheMedianOfPerPairRatiosWithItsQuartiles) {
  cli::PairedSamples samples;
  samples.measured = {10, 20, 30, 40, 50};
  samples.floor = {5, 20, 10, 40, 10};
  // Per-pair ratios 2 1 3 1 5, sorted 1 1 2 3 5; the ratio of the medians would be 30 / 10 = 3.
  const cli::BenchResult r = cli::BenchResult::from("m", "f", "us", samples, 1.5);
  EXPECT_DOUBLE_EQ(r.ratio, 2);
  EXPECT_DOUBLE_EQ(r.ratio_q1, 1);
  EXPECT_DOUBLE_EQ(r.ratio_q3, 3);
  EXPECT_EQ(r.pairs, 5u);
  EXPECT_DOUBLE_EQ(r.measured, 30);
  EXPECT_DOUBLE_EQ(r.floor, 10);
  // Scaling to another unit leaves the ratios alone.
  const cli::BenchResult scaled =
      cli::BenchResult::from("m", "f", "ns_per_task", samples.scaled(1000, 1000), 1.5);
  EXPECT_DOUBLE_EQ(scaled.measured, 30000);
  EXPECT_DOUBLE_EQ(scaled.ratio, 2);
}

TEST(BenchStatsTest, FloorIsDisturbedWhenInterleavedStraysMoreThanTenPercentFromAlone) {
  cli::PairedSamples samples;
  samples.measured = {10, 10, 10};
  samples.floor = {5, 5, 5};
  cli::BenchResult r = cli::BenchResult::from("m", "f", "us", samples, 1.5);
  EXPECT_FALSE(r.has_floor_alone());
  EXPECT_FALSE(r.floor_disturbed());
  r.with_floor_alone({4.6, 4.7, 9.0});  // median 4.7: interleaved 6.4% slower
  EXPECT_DOUBLE_EQ(r.floor_alone, 4.7);
  EXPECT_FALSE(r.floor_disturbed());
  r.with_floor_alone({4.0, 4.0, 4.0});  // interleaved 25% slower
  EXPECT_DOUBLE_EQ(r.floor_shift(), 0.25);
  EXPECT_TRUE(r.floor_disturbed());
  r.with_floor_alone({6.0}, 1.0);  // interleaved faster by 17%: also a disturbed pair
  EXPECT_TRUE(r.floor_disturbed());
  r.with_floor_alone({0.004}, 1000);  // scaled to the record's unit, as dispatch does
  EXPECT_DOUBLE_EQ(r.floor_alone, 4);
  EXPECT_DOUBLE_EQ(r.ratio, 2);  // the ratio stays measured / interleaved floor
}

// The floor alone is sampled once every execution thread of the device has parked, as its
// status page says (DeviceStats::execution_threads, as the device reported them at its start,
// and parked_execution_threads): while kernels run, the wait fails at its bound with the count,
// it does not hang; once the run is over, it returns with every thread parked.
TEST(BenchFloorAloneTest, WaitsUntilEveryExecutionThreadParksAndFailsAtItsBound) {
  constexpr uint32_t kThreads = 2;
  SimChipOptions chip_options;
  chip_options.execution_threads = kThreads;
  auto device = create_sim_chip(*chip_profile("a2a3"), 64ull << 20, chip_options);
  ASSERT_NE(device, nullptr);
  auto worker = ChipWorker::create(device, WorkerOptions{});
  ASSERT_TRUE(worker.ok()) << worker.status().to_string();
  EXPECT_EQ(device->stats().execution_threads, kThreads);
  auto id = (*worker)->register_callable(
      test_image("orch_probe.so", {{1, CoreType::aiv, "kernel_probe.so"}}));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  RunArgs args;
  args.tensors["x"] = host_f32({2}, {0, 1});
  args.scalars["tasks"] = kThreads;  // one kernel per thread, each sleeping 1 s
  args.scalars["sleep_ms"] = 1000;
  // From an idle device (its threads may not have parked yet after its start), so that no
  // parked thread below is one that never woke: both kernels run once no thread is parked.
  ASSERT_TRUE(cli::wait_until_parked(*device).ok());
  auto run = std::async(std::launch::async, [&] { return (*worker)->run(*id, args); });
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (device->stats().parked_execution_threads != 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ(device->stats().parked_execution_threads, 0u);
  const Status busy = cli::wait_until_parked(*device, std::chrono::milliseconds(100));
  EXPECT_EQ(busy.code(), StatusCode::unavailable) << busy.to_string();
  EXPECT_NE(busy.message().find("0 of 2 parked"), std::string::npos) << busy.to_string();
  auto report = run.get();
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  const Status idle = cli::wait_until_parked(*device);
  EXPECT_TRUE(idle.ok()) << idle.to_string();
  EXPECT_EQ(device->stats().parked_execution_threads, kThreads);
  int floors = 0;
  auto alone = cli::sample_alone(*device, 3, [&](size_t) { return static_cast<double>(++floors); });
  ASSERT_TRUE(alone.ok()) << alone.status().to_string();
  EXPECT_EQ(*alone, (std::vector<double>{2, 3, 4}));  // after one unrecorded warm-up sample
}

TEST(IntervalUnionTest, CountsOverlappingStretchesOnce) {
  using cli::Interval;
  EXPECT_DOUBLE_EQ(cli::union_length({}), 0);
  EXPECT_DOUBLE_EQ(cli::union_length({{1, 1}, {5, 3}}), 0);            // empty and reversed
  EXPECT_DOUBLE_EQ(cli::union_length({{0, 2}, {5, 6}}), 3);            // disjoint
  EXPECT_DOUBLE_EQ(cli::union_length({{0, 4}, {2, 6}}), 6);            // overlapping
  EXPECT_DOUBLE_EQ(cli::union_length({{0, 10}, {2, 3}, {4, 5}}), 10);  // nested
  EXPECT_DOUBLE_EQ(cli::union_length({{0, 2}, {2, 3}}), 3);            // touching
  // Unsorted, mixed: [0, 4] with [1, 2] nested and [3, 5] overlapping, then [7, 8] apart.
  EXPECT_DOUBLE_EQ(cli::union_length({{7, 8}, {3, 5}, {0, 4}, {1, 2}, {9, 9}}), 6);
}

// Marks of `tasks` tasks that all ran once, in `rows` rows.
std::vector<int32_t> good_marks(int tasks, int rows) {
  std::vector<int32_t> marks(2 * static_cast<size_t>(rows), 0);
  for (int k = 0; k < tasks; ++k) {
    marks[2 * k] = k;
    marks[2 * k + 1] = 1;
  }
  return marks;
}

TEST(MarksCheckTest, AcceptsEveryTaskRunOnceUnderItsOwnId) {
  EXPECT_TRUE(cli::check_marks(good_marks(5, 5), 5).ok());
  EXPECT_TRUE(cli::check_marks(good_marks(1, 5), 1).ok());  // rows past the run stay unmarked
  EXPECT_TRUE(cli::check_marks({}, 0).ok());
}

TEST(MarksCheckTest, RejectsAMissingRepeatedMisnamedOrExtraTask) {
  auto message = [](const std::vector<int32_t>& marks, uint64_t tasks) {
    const Status s = cli::check_marks(marks, tasks);
    EXPECT_EQ(s.code(), StatusCode::internal);
    return s.to_string();
  };
  std::vector<int32_t> m = good_marks(5, 5);
  m[2 * 3 + 1] = 0;  // task 3 never ran
  EXPECT_NE(message(m, 5).find("task 3 never ran"), std::string::npos) << message(m, 5);
  EXPECT_NE(message(m, 5).find("1 of 5 tasks never ran"), std::string::npos);

  m = good_marks(5, 5);
  m[2 * 2 + 1] = 2;  // task 2 ran twice
  EXPECT_NE(message(m, 5).find("task 2 ran 2 times"), std::string::npos) << message(m, 5);

  m = good_marks(5, 5);
  m[2 * 4] = 1;  // slot 4 written by task id 1
  EXPECT_NE(message(m, 5).find("task 4 ran as task id 1"), std::string::npos) << message(m, 5);

  m = good_marks(5, 5);
  m[2 * 0 + 1] = 0;  // the first task is named too
  EXPECT_NE(message(m, 5).find("task 0 never ran"), std::string::npos);

  m = good_marks(2, 4);
  m[2 * 3] = 3;
  m[2 * 3 + 1] = 1;  // a row past a 2-task run
  EXPECT_NE(message(m, 2).find("row 3 (past the 2 tasks) marked 1 times"), std::string::npos)
      << message(m, 2);

  EXPECT_NE(message(std::vector<int32_t>(3, 0), 1).find("not 2 for each of 1 tasks"),
            std::string::npos);  // odd size
  EXPECT_NE(message(good_marks(2, 2), 3).find("not 2 for each of 3 tasks"),
            std::string::npos);  // too few rows

  // All zero (no kernel ran): every task named as missing, counted.
  EXPECT_NE(message(std::vector<int32_t>(2000, 0), 1000).find("1000 of 1000 tasks never ran"),
            std::string::npos);
}

HostTensor f32_tensor(std::vector<int64_t> shape, std::vector<float> values) {
  HostTensor t;
  t.shape = std::move(shape);
  t.data.resize(values.size() * sizeof(float));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

TEST(OutputCheckTest, AttentionReferenceAveragesValuesBySoftmaxWeights) {
  // One query q = [1, 1] and two keys k0 = [0, 0], k1 = [1, 1]: scores 0 and 2 / sqrt(2).
  const HostTensor q = f32_tensor({1, 2}, {1, 1});
  const HostTensor k = f32_tensor({2, 2}, {0, 0, 1, 1});
  const HostTensor v = f32_tensor({2, 1}, {10, 20});
  const std::vector<double> out = cli::attention_reference(q, k, v);
  ASSERT_EQ(out.size(), 1u);
  const double w1 = std::exp(std::sqrt(2.0)) / (1 + std::exp(std::sqrt(2.0)));
  EXPECT_NEAR(out[0], 10 * (1 - w1) + 20 * w1, 1e-9);
}

TEST(OutputCheckTest, CheckCloseRejectsAWrongElementOrShape) {
  const std::vector<double> want = {1.0, 2.0, 3.0};
  EXPECT_TRUE(cli::check_close(f32_tensor({3}, {1, 2, 3.0001f}), want, 1e-4, "out").ok());
  const Status wrong = cli::check_close(f32_tensor({3}, {1, 2, 0}), want, 1e-4, "out");
  EXPECT_EQ(wrong.code(), StatusCode::internal);
  EXPECT_NE(wrong.to_string().find("out differs from its reference at element 2"),
            std::string::npos)
      << wrong.to_string();
  EXPECT_FALSE(cli::check_close(f32_tensor({2}, {1, 2}), want, 1e-4, "out").ok());
  // NaN is never close.
  EXPECT_FALSE(cli::check_close(f32_tensor({3}, {1, 2, NAN}), want, 1e-4, "out").ok());
}

class MarkedDagTest : public ::testing::TestWithParam<std::tuple<RuntimeKind, cli::DagShape>> {};

// The dispatch workloads with marks, as `chiprt bench` runs them: every task of every run (for
// hbg: the recording run, then replays) leaves its mark once under its own id, and so does
// every node of the TBB floor.
TEST_P(MarkedDagTest, EveryTaskOfEveryRunLeavesItsMarkOnce) {
  const auto [runtime, shape] = GetParam();
  auto rig = cli::make_dag_rig(CHIPRT_EXAMPLES_SO_DIR, runtime, shape);
  ASSERT_TRUE(rig.ok()) << rig.status().to_string();
  const RunArgs args = rig->marked(cli::dag_args(shape));
  const uint64_t tasks = static_cast<uint64_t>(cli::dag_tasks(shape));
  for (int run = 0; run < 3; ++run) {
    ASSERT_TRUE(rig->clear_marks().ok());
    EXPECT_FALSE(rig->check_marks(tasks).ok()) << "cleared marks must not pass";
    auto report = rig->worker->run(rig->id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->tasks, tasks);
    const Status marks = rig->check_marks(tasks);
    EXPECT_TRUE(marks.ok()) << "run " << run << ": " << marks.to_string();
  }
  cli::TbbDag tbb(shape);
  (void)tbb.build_and_run_us();
  EXPECT_TRUE(tbb.check_marks().ok()) << tbb.check_marks().to_string();
  (void)tbb.rerun_us();
  (void)tbb.rerun_us();
  EXPECT_TRUE(tbb.check_marks().ok()) << tbb.check_marks().to_string();
}

INSTANTIATE_TEST_SUITE_P(Workloads, MarkedDagTest,
                         ::testing::Combine(::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                                            ::testing::Values(cli::DagShape::layered,
                                                              cli::DagShape::wavefront)));

// The wavefront's geometry, written out here rather than taken from bench_dag.h.
constexpr int kTiles = 10, kSweeps = 10, kTileRows = 4, kTileCols = 4;
constexpr int kRows = kTiles * kTileRows, kCols = kTiles * kTileCols;
constexpr int kTasks = kSweeps * kTiles * kTiles;

int task(int s, int i, int j) {
  return (s * kTiles + i) * kTiles + j;
}

TEST(BenchWorkloadTest, FloorGraphsWaitForExactlyTheDataDependencies) {
  // Wavefront: RAW from the tile above and the tile to the left (9 x 10 each per sweep), WAW on
  // its own tile from the previous sweep (100 per later sweep), WAR from the previous sweep's
  // readers of its tile (9 x 10 + 10 x 9 per later sweep).
  const auto wave = cli::dag_predecessors(cli::DagShape::wavefront);
  ASSERT_EQ(wave.size(), static_cast<size_t>(kTasks));
  size_t edges = 0;
  for (const auto& p : wave) edges += p.size();
  EXPECT_EQ(edges, 10u * 180 + 9u * 100 + 9u * 180);  // 4320
  EXPECT_EQ(wave[task(0, 0, 0)], std::vector<uint32_t>{});
  EXPECT_EQ(wave[task(3, 4, 5)],
            (std::vector<uint32_t>{
                static_cast<uint32_t>(task(3, 3, 5)), static_cast<uint32_t>(task(3, 4, 4)),
                static_cast<uint32_t>(task(2, 4, 5)), static_cast<uint32_t>(task(2, 5, 5)),
                static_cast<uint32_t>(task(2, 4, 6))}));
  // Layered: 9 layers after the first, 100 tasks each with two predecessors.
  const auto layered = cli::dag_predecessors(cli::DagShape::layered);
  ASSERT_EQ(layered.size(), 1000u);
  edges = 0;
  for (const auto& p : layered) edges += p.size();
  EXPECT_EQ(edges, 1800u);
  EXPECT_EQ(layered[199], (std::vector<uint32_t>{99, 0}));  // wraps around the layer
}

class WavefrontTest : public ::testing::TestWithParam<RuntimeKind> {};

// The tiled_wavefront orchestration with the order-sensitive wave_op kernel on both runtimes,
// bitwise equal to the same updates applied one task at a time in submission order.
TEST_P(WavefrontTest, TiledViewsRunBitwiseEqualToSequentialUpdates) {
  ImageSource source;
  const Bytes orch =
      read_bytes(std::filesystem::path(CHIPRT_EXAMPLES_SO_DIR) / "orch_tiled_wavefront.so");
  const Bytes kernel = read_bytes(std::filesystem::path(CHIPRT_TEST_SO_DIR) / "kernel_wave_op.so");
  source.orchestration = orch;
  source.name = "wavefront";
  source.kernels.push_back({1, CoreType::aiv, kernel});
  auto image = write_image(source);
  ASSERT_TRUE(image.ok()) << image.status().to_string();

  Rig rig = make_rig("a2a3", GetParam());
  auto id = rig.worker->register_callable(*image);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  // t is updated in place, so it is a device tensor the test reads back.
  auto t = rig.worker->alloc_tensor(CHIPRT_DTYPE_F32, {kRows, kCols});
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  const std::vector<float> start = pattern(kRows * kCols, 7);
  RunArgs args;
  args.device_inputs["t"] = t->ref();
  args.scalars["tiles"] = kTiles;
  args.scalars["sweeps"] = kSweeps;

  std::vector<float> want = start;
  for (int s = 0; s < kSweeps; ++s) {
    for (int i = 0; i < kTiles; ++i) {
      for (int j = 0; j < kTiles; ++j) {
        for (int r = 0; r < kTileRows; ++r) {
          for (int c = 0; c < kTileCols; ++c) {
            const int row = i * kTileRows + r, col = j * kTileCols + c;
            float acc = want[row * kCols + col] * 0.5f;
            if (i > 0) acc += want[(row - kTileRows) * kCols + col];
            if (j > 0) acc += want[row * kCols + col - kTileCols];
            want[row * kCols + col] = acc + 1.0f;
          }
        }
      }
    }
  }
  for (int run = 0; run < 3; ++run) {  // hbg: the recording run, then replays
    ASSERT_TRUE(rig.worker->copy_to_device(*t, std::as_bytes(std::span(start))).ok());
    auto report = rig.worker->run(*id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->tasks, static_cast<uint64_t>(kTasks));
    std::vector<float> got(start.size());
    ASSERT_TRUE(rig.worker->copy_from_device(*t, std::as_writable_bytes(std::span(got))).ok());
    size_t differ = 0;
    for (size_t e = 0; e < got.size(); ++e) {
      if (std::memcmp(&got[e], &want[e], sizeof(float)) != 0 && ++differ <= 3) {
        ADD_FAILURE() << "run " << run << " element " << e << ": got " << got[e] << " want "
                      << want[e];
      }
    }
    EXPECT_EQ(differ, 0u) << "run " << run;
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, WavefrontTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg));

}  // namespace
}  // namespace chiprt::testing

// The dispatch benchmarks' machinery (tools/bench_timer.h, tools/bench_dag.h): paired sampling
// and its statistics, and the tiled-wavefront workload, whose dependencies come from partial
// views of one tensor and must hold on both runtimes.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "bench_dag.h"
#include "bench_timer.h"
#include "runtime_test_util.h"

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

// `chiprt churn` at scale, through the CLI: per-device figures, and the timeline CSV's shape
// (flat under a rolling churn, up to the sum and back to zero under an `all` churn).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "chiprt/worker.h"
#include "foundation/test_support.h"

namespace chiprt {
namespace {

struct CliResult {
  int exit_code;
  std::string out;
};

CliResult run_cli(const std::string& args) {
  const std::string command = std::string(CHIPRT_CLI) + " " + args + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = pclose(pipe);
  return {WEXITSTATUS(status), out};
}

struct Row {
  uint64_t op;
  size_t device;
  std::string tag;
  uint64_t live_bytes;
  uint64_t buffers;
  uint64_t registrations;
};

std::vector<Row> read_timeline(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "time_s,op,device,tag,live_bytes,buffers,registrations");
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string time, op, device, tag, live, buffers, regs;
    std::getline(fields, time, ',');
    std::getline(fields, op, ',');
    std::getline(fields, device, ',');
    std::getline(fields, tag, ',');
    std::getline(fields, live, ',');
    std::getline(fields, buffers, ',');
    std::getline(fields, regs, ',');
    rows.push_back({std::stoull(op), std::stoul(device), tag, std::stoull(live),
                    std::stoull(buffers), std::stoull(regs)});
  }
  return rows;
}

// The callable allocation of one churn image (all churn images have the same size), from its
// header fields and the documented granularity.
uint64_t one_image_alloc(RuntimeKind runtime) {
  return test::placed_allocation(test::distinct_vector_images(1, "churn")[0], runtime);
}

// Every test writes into a fresh directory of its own (mkdtemp), removed when it ends, so that
// overlapping runs of this suite never share or leave behind a file.
class ChurnTimeline : public testing::TestWithParam<RuntimeKind> {
 protected:
  test::ScopedTempDir dir_;
  std::filesystem::path csv_ = dir_.path() / "timeline.csv";
  std::string runtime_ = std::string(runtime_name(GetParam()));
};

TEST_P(ChurnTimeline, RollingIsFlatAtOneImage) {
  const auto r = run_cli("churn --callables 300 --distinct 30 --pattern rolling --runtime " +
                         runtime_ + " --devices 2 --timeline '" + csv_.string() + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Churn images are made by the CLI from the same example parts with names "churn-<i>";
  // they all have one size, so one allocation size.
  std::map<size_t, uint64_t> max_callable;
  for (const Row& row : read_timeline(csv_)) {
    if (row.tag != "callable") continue;
    max_callable[row.device] = std::max(max_callable[row.device], row.live_bytes);
    EXPECT_LE(row.buffers, 1u);
  }
  ASSERT_EQ(max_callable.size(), 2u);
  for (auto [device, bytes] : max_callable) EXPECT_EQ(bytes, one_image_alloc(GetParam())) << device;
  // The resident memory of the CLI and of each device's process, from /proc, at the end.
  const auto resident = nlohmann::json::parse(r.out)["resident_memory"];
  EXPECT_GT(resident["host"]["pid"].get<int64_t>(), 0);
  EXPECT_GT(resident["host"]["resident_bytes"].get<uint64_t>(), 0u);
  ASSERT_EQ(resident["devices"].size(), 2u);
  for (const auto& d : resident["devices"]) {
    EXPECT_GT(d["pid"].get<int64_t>(), 0);
    EXPECT_NE(d["pid"], resident["host"]["pid"]);
    EXPECT_GT(d["resident_bytes"].get<uint64_t>(), 0u);
    EXPECT_LE(d["resident_bytes"].get<uint64_t>(), d["peak_resident_bytes"].get<uint64_t>());
  }
}

TEST_P(ChurnTimeline, AllRisesToTheSumAndReturnsToZero) {
  const auto r = run_cli("churn --callables 200 --distinct 20 --pattern all --runtime " + runtime_ +
                         " --timeline '" + csv_.string() + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  uint64_t max_callable = 0, last_callable = 1, max_registrations = 0;
  for (const Row& row : read_timeline(csv_)) {
    if (row.tag != "callable") continue;
    max_callable = std::max(max_callable, row.live_bytes);
    max_registrations = std::max(max_registrations, row.registrations);
    last_callable = row.live_bytes;
  }
  EXPECT_EQ(max_callable, 20 * one_image_alloc(GetParam()));
  EXPECT_EQ(json["device"]["callable_bytes_peak"].get<uint64_t>(), max_callable);
  EXPECT_EQ(json["device"]["callable_allocations"].get<uint64_t>(), 20u);
  EXPECT_EQ(max_registrations, 200u);
  EXPECT_EQ(last_callable, 0u);
}

TEST_P(ChurnTimeline, ManyThreadsOnTwoDevicesReturnToBaseline) {
  const auto r =
      run_cli("churn --devices 2 --threads 4 --callables 2000 --distinct 200 --runtime " +
              runtime_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json["device"].size(), 2u);
  for (const auto& device : json["device"]) {
    EXPECT_EQ(device["live_bytes_after_unregister"], device["baseline_bytes"]);
    EXPECT_EQ(device["callable_buffers_live_after_unregister"], 0);
    // Each device received half of the distinct images, all live at once.
    EXPECT_EQ(device["callable_bytes_peak"].get<uint64_t>(), 100 * one_image_alloc(GetParam()));
    EXPECT_EQ(device["callable_allocations"].get<uint64_t>(), 100u);
  }
  EXPECT_EQ(json["registrations"], 2000);
}

TEST_P(ChurnTimeline, LegacyAccountingKeepsEveryImageTwiceOver) {
  const auto r = run_cli(
      "churn --callables 100 --distinct 10 --pattern rolling --legacy-accounting --runtime " +
      runtime_ + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto json = nlohmann::json::parse(r.out);
  // Per distinct image, one buffer of the image plus a second copy of its orchestration (size
  // from the header), rounded to the documented 512-byte granularity; both uploads counted by
  // the device, the second as a re-upload.
  const Bytes image = test::distinct_vector_images(1, "churn")[0];
  const auto* header = reinterpret_cast<const chiprt_image_header_t*>(image.data());
  constexpr uint64_t kGranularity = 512;
  const uint64_t per_image =
      (image.size() + header->orch_size + kGranularity - 1) / kGranularity * kGranularity;
  EXPECT_EQ(json["device"]["live_bytes_after_unregister"].get<uint64_t>(), 10 * per_image);
  EXPECT_EQ(json["device"]["callable_allocations"], 10);
  EXPECT_EQ(json["device"]["callable_upload_bytes"], 10 * (image.size() + header->orch_size));
  EXPECT_EQ(json["device"]["orch_uploads"], 10);
  EXPECT_EQ(json["device"]["callable_buffers_live_after_unregister"], 10);
}

TEST(ChurnPlot, WritesAnSvgWithBothPanels) {
  const test::ScopedTempDir dir;
  const auto svg = dir.path() / "churn.svg";
  const auto r =
      run_cli("churn --callables 100 --distinct 10 --pattern rolling --compare-legacy --plot '" +
              svg.string() + "'");
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("<svg", 0), 0u);
  EXPECT_NE(text.find("legacy accounting"), std::string::npos);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  size_t polylines = 0;
  for (size_t at = text.find("<polyline"); at != std::string::npos;
       at = text.find("<polyline", at + 1)) {
    ++polylines;
  }
  EXPECT_EQ(polylines, 4u);  // per panel: registrations + callable bytes
}

// The README documents every column the CSV has, in a table row of its own.
TEST(ChurnTimelineDocs, ReadmeDocumentsEveryColumn) {
  test::ScopedTempDir dir;
  const std::filesystem::path csv = dir.path() / "timeline.csv";
  const auto r = run_cli("churn --callables 2 --distinct 1 --timeline '" + csv.string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::ifstream in(csv);
  std::string header;
  ASSERT_TRUE(std::getline(in, header));
  std::ifstream readme_file(std::string(CHIPRT_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(readme_file.good());
  const std::string readme((std::istreambuf_iterator<char>(readme_file)),
                           std::istreambuf_iterator<char>());
  std::stringstream columns(header);
  size_t count = 0;
  for (std::string column; std::getline(columns, column, ',');) {
    ++count;
    EXPECT_NE(readme.find("| `" + column + "` |"), std::string::npos) << column;
  }
  EXPECT_EQ(count, 7u) << header;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ChurnTimeline,
                         testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt

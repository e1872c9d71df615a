// `chiprt churn` at scale, through the CLI: per-device figures, the timeline CSV's shape (flat
// under a rolling churn, up to the sum and back to zero under an `all` churn), and the plot.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
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
  uint64_t host_resident_bytes;
  uint64_t device_resident_bytes;
};

std::vector<Row> read_timeline(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line,
            "time_s,op,device,tag,live_bytes,buffers,registrations,host_resident_bytes,"
            "device_resident_bytes");
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string time, op, device, tag, live, buffers, regs, host, device_resident;
    std::getline(fields, time, ',');
    std::getline(fields, op, ',');
    std::getline(fields, device, ',');
    std::getline(fields, tag, ',');
    std::getline(fields, live, ',');
    std::getline(fields, buffers, ',');
    std::getline(fields, regs, ',');
    std::getline(fields, host, ',');
    std::getline(fields, device_resident, ',');
    rows.push_back({std::stoull(op), std::stoul(device), tag, std::stoull(live),
                    std::stoull(buffers), std::stoull(regs), std::stoull(host),
                    std::stoull(device_resident)});
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
  // Per series: registrations and callable bytes; the resident memory of the host and of the
  // device's process.
  EXPECT_EQ(polylines, 8u);
}

// The value of an SVG attribute `name` in the element starting at `at`.
std::string attribute(const std::string& svg, size_t at, const std::string& name) {
  const size_t end = svg.find('>', at);
  const size_t start = svg.find(" " + name + "=\"", at);
  if (start == std::string::npos || start > end) return "";
  const size_t value = start + name.size() + 3;
  return svg.substr(value, svg.find('"', value) - value);
}

// The plot draws, under the device's bytes, the resident memory of the host and of each device's
// process: one line per process, labelled with the pid `--json` reports, its points the timeline
// CSV's figures read back through the panel's scale, of the size of the process's peak (VmHWM).
TEST(ChurnPlot, DrawsTheResidentMemoryOfTheHostAndOfEachDeviceProcess) {
  const test::ScopedTempDir dir;
  const auto svg_path = dir.path() / "churn.svg";
  const auto csv = dir.path() / "timeline.csv";
  const auto r =
      run_cli("churn --callables 200 --distinct 20 --pattern rolling --devices 2 --plot '" +
              svg_path.string() + "' --timeline '" + csv.string() + "' --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto resident = nlohmann::json::parse(r.out)["resident_memory"];
  ASSERT_EQ(resident["devices"].size(), 2u);
  // Expected from the CSV: each sample (its `callable` row) in the order of its operation.
  std::vector<Row> samples;
  for (const Row& row : read_timeline(csv)) {
    if (row.tag == "callable") samples.push_back(row);
  }
  std::stable_sort(samples.begin(), samples.end(),
                   [](const Row& a, const Row& b) { return a.op < b.op; });
  std::map<std::string, std::vector<uint64_t>> expected;
  uint64_t max = 0;
  for (const Row& row : samples) {
    expected["host"].push_back(row.host_resident_bytes);
    expected["device " + std::to_string(row.device)].push_back(row.device_resident_bytes);
    max = std::max({max, row.host_resident_bytes, row.device_resident_bytes});
  }
  ASSERT_GT(expected["host"].size(), 200u);
  std::map<std::string, std::pair<int64_t, uint64_t>> processes{
      // pid, peak resident bytes
      {"host",
       {resident["host"]["pid"].get<int64_t>(),
        resident["host"]["peak_resident_bytes"].get<uint64_t>()}}};
  for (const auto& d : resident["devices"]) {
    processes["device " + std::to_string(d["device"].get<int>())] = {
        d["pid"].get<int64_t>(), d["peak_resident_bytes"].get<uint64_t>()};
  }

  std::ifstream in(svg_path);
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t panel = svg.find("<rect data-panel=\"resident\"");
  ASSERT_NE(panel, std::string::npos);
  EXPECT_EQ(std::stoull(attribute(svg, panel, "data-bytes-max")), max);
  const double top = std::stod(attribute(svg, panel, "y"));
  const double height = std::stod(attribute(svg, panel, "height"));
  // Points are written to 0.1 px.
  const double tolerance = 0.06 * double(max) / height + 1;
  std::set<std::string> drawn;
  for (size_t at = svg.find("<polyline data-process="); at != std::string::npos;
       at = svg.find("<polyline data-process=", at + 1)) {
    const std::string process = attribute(svg, at, "data-process");
    ASSERT_TRUE(processes.count(process)) << process;
    EXPECT_TRUE(drawn.insert(process).second) << process;
    const auto [pid, peak] = processes[process];
    EXPECT_EQ(std::stoll(attribute(svg, at, "data-pid")), pid) << process;
    std::stringstream points(attribute(svg, at, "points"));
    std::vector<double> values;
    for (std::string point; points >> point;) {
      const double y = std::stod(point.substr(point.find(',') + 1));
      values.push_back((top + height - y) / height * double(max));
    }
    const std::vector<uint64_t>& want = expected[process];
    ASSERT_EQ(values.size(), want.size()) << process;
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_NEAR(values[i], double(want[i]), tolerance) << process << " point " << i;
      EXPECT_GT(want[i], 0u) << process << " point " << i;
      // Linux's resident counts lag by up to 64 pages a thread: the peak read at the end may be
      // under a figure read before it. The bounds still catch a value in the wrong unit.
      EXPECT_LE(values[i], double(peak + (1 << 20))) << process << " point " << i;
      EXPECT_GE(values[i], double(peak / 4)) << process << " point " << i;
    }
  }
  EXPECT_EQ(drawn, (std::set<std::string>{"host", "device 0", "device 1"}));
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
  EXPECT_EQ(count, 9u) << header;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ChurnTimeline,
                         testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt

// `chiprt run` end to end: .npy in and out, JSON report keys, Chrome trace, exit codes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xnpy.hpp>

#include "process_probe.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

namespace fs = std::filesystem;

class CliRunTest : public ::testing::TestWithParam<std::string> {
 protected:
  // A fresh directory per test (mkdtemp), removed with its contents when the test ends.
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "chiprt-cli-run-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp: " << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  // Runs the CLI with `args`; returns the exit code, stdout and stderr in files.
  int chiprt(const std::string& args) { return chiprt_with("", args); }
  int chiprt_with(const std::string& env, const std::string& args) {
    const std::string cmd = env + std::string(CHIPRT_CLI) + " " + args + " >" +
                            (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  // The same, with one extra VAR=VALUE in the CLI's environment.
  int chiprt_env(const std::string& assignment, const std::string& args) {
    return chiprt_with(assignment + " ", args);
  }
  std::string slurp(const std::string& name) {
    std::ifstream in(dir_ / name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  std::string path(const std::string& name) { return (dir_ / name).string(); }
  std::string image() { return (fs::path(CHIPRT_EXAMPLES_DIR) / "vector.chipimg").string(); }
  // `args` fail as bad input: exit 2, nothing on stdout, one stderr line "chiprt: ..." holding
  // `names`.
  void expect_usage_error(const std::string& args, const std::string& names) {
    SCOPED_TRACE(args);
    EXPECT_EQ(chiprt(args), 2);
    EXPECT_EQ(slurp("out"), "");
    const std::string err = slurp("err");
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.rfind("chiprt: ", 0), 0u) << err;
    EXPECT_NE(err.find(names), std::string::npos) << err;
  }
  // a=2, b=3 of shape (4,) in a.npy, b.npy; returns the --arg options.
  std::string small_args() {
    xt::xarray<float> a = xt::xarray<float>::from_shape({4});
    a.fill(2.0f);
    xt::dump_npy(path("a.npy"), a);
    a.fill(3.0f);
    xt::dump_npy(path("b.npy"), a);
    return " --runtime " + GetParam() + " --arg a=" + path("a.npy") + " --arg b=" + path("b.npy");
  }

  std::string pack_logged_double();

  fs::path dir_;
};

TEST_P(CliRunTest, VectorFromNpyGives47WithReportAndTrace) {
  xt::xarray<float> a = xt::xarray<float>::from_shape({128, 1024});
  xt::xarray<float> b = xt::xarray<float>::from_shape({128, 1024});
  a.fill(2.0f);
  b.fill(3.0f);
  xt::dump_npy(path("a.npy"), a);
  xt::dump_npy(path("b.npy"), b);
  ASSERT_EQ(chiprt("run " + image() + " --runtime " + GetParam() + " --arg a=" + path("a.npy") +
                   " --arg b=" + path("b.npy") + " --out f=" + path("f.npy") +
                   " --repeat 3 --json --trace " + path("trace.json")),
            0)
      << slurp("err");
  const auto f = xt::load_npy<float>(path("f.npy"));
  ASSERT_EQ(f.shape().size(), 2u);
  EXPECT_EQ(f.shape()[0], 128u);
  EXPECT_EQ(f.shape()[1], 1024u);
  for (float v : f) ASSERT_EQ(v, 47.0f);

  const auto report = nlohmann::json::parse(slurp("out"));
  EXPECT_GT(report["tasks"].get<uint64_t>(), 1u);
  for (const char* key : {"register_us", "first_run_us", "run_us_median"}) {
    EXPECT_GT(report[key].get<double>(), 0.0) << key;
  }
  // Counted where the entry is called: each of the 3 tmr runs calls it on the device; hbg's
  // sandbox calls it to record the graph once, which the 2 later runs replay.
  EXPECT_EQ(report["orchestration_calls"].get<uint64_t>(), GetParam() == "hbg" ? 1u : 3u);
  const auto& device = report["device"];
  // Kept after the runs: hbg's graph and the worker's one intermediate heap (a2a3's default
  // limit, 64 MiB, a multiple of the device granularity).
  const uint64_t heap = 64ull << 20;
  EXPECT_EQ(device["heap_bytes_reserved"].get<uint64_t>(), heap);
  EXPECT_EQ(device["live_bytes_after"].get<uint64_t>() -
                device["graph_cache_bytes"].get<uint64_t>() - heap,
            device["live_bytes_before"].get<uint64_t>());
  EXPECT_LE(device["runtime_peak_bytes"].get<uint64_t>(),
            heap + device["runtime_fixed_bytes"].get<uint64_t>());
  EXPECT_EQ(device["tensor_live_bytes_after"].get<uint64_t>(), 0u);
  if (GetParam() == "hbg") {
    EXPECT_EQ(report["graph_cache_hits"].get<uint64_t>(), 2u);
    EXPECT_GT(report["graph_bytes"].get<uint64_t>(), 0u);
    // The cache after the runs: the one graph, and both bounds (the defaults: 16 graphs,
    // 64 MiB).
    const auto& cache = report["graph_cache"];
    EXPECT_EQ(cache["entries"].get<uint64_t>(), 1u);
    EXPECT_EQ(cache["bytes"].get<uint64_t>(), report["graph_bytes"].get<uint64_t>());
    EXPECT_EQ(cache["bytes"].get<uint64_t>(), device["graph_cache_bytes"].get<uint64_t>());
    EXPECT_EQ(cache["capacity_entries"].get<uint64_t>(), 16u);
    EXPECT_EQ(cache["capacity_bytes"].get<uint64_t>(), 64ull << 20);
    EXPECT_EQ(cache["evictions"].get<uint64_t>(), 0u);
  } else {
    EXPECT_FALSE(report.contains("graph_cache"));
  }

  const auto trace = nlohmann::json::parse(slurp("trace.json"));
  size_t slices = 0, tracks = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["cat"] == "task") ++slices;
    if (e["ph"] == "M" && e["name"] == "thread_name") ++tracks;
  }
  EXPECT_EQ(slices, report["tasks"].get<uint64_t>());
  EXPECT_GE(tracks, 1u);
}

TEST_P(CliRunTest, MalformedNpyIsOneLineAndExit2) {
  std::ofstream(path("bad.npy")) << "\x93NUMPY this is not a header";
  std::ofstream(path("short.npy")).write("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',", 24);
  xt::xarray<float> good = xt::xarray<float>::from_shape({4});
  good.fill(1.0f);
  xt::dump_npy(path("good.npy"), good);
  for (const char* file : {"bad.npy", "short.npy", "missing.npy"}) {
    EXPECT_EQ(chiprt("run " + image() + " --runtime " + GetParam() + " --arg a=" + path(file) +
                     " --arg b=" + path("good.npy")),
              2)
        << file;
    const std::string err = slurp("err");
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  // A truncated data section is an error too, never garbage.
  const std::string whole = [&] {
    std::ifstream in(path("good.npy"), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  std::ofstream(path("cut.npy"), std::ios::binary).write(whole.data(), whole.size() - 4);
  EXPECT_EQ(
      chiprt("run " + image() + " --arg a=" + path("cut.npy") + " --arg b=" + path("good.npy")), 2);
}

TEST_P(CliRunTest, InputThatIsNotARegularFileIsOneLineAndExit2) {
  const std::string args = small_args();
  expect_usage_error("run " + dir_.string() + args, "not a regular file");
  expect_usage_error("run ." + args, "not a regular file");
  expect_usage_error("run /dev/zero" + args, "not a regular file");
  expect_usage_error("run " + image() + " --arg x=. " + args, "not a regular file");
  expect_usage_error("run " + image() + args + " --arg c=/dev/zero", "not a regular file");
}

TEST_P(CliRunTest, BadOptionsAreOneLineAndExit2) {
  const std::string args = small_args();
  expect_usage_error("run " + path("none.chipimg") + " --repeat 0",
                     "--repeat must be at least 1, got 0");
  expect_usage_error("run " + image() + args + " --repeat -2",
                     "--repeat must be at least 1, got -2");
  expect_usage_error("run " + image() + args + " --ring-slots 0",
                     "--ring-slots must be at least 1, got 0");
  expect_usage_error("run " + image() + args + " --arg a=" + path("b.npy"), "--arg a");
  expect_usage_error("run " + image() + args + " --scalar s=1 --scalar s=2", "--scalar s");
  expect_usage_error("run " + image() + args + " --out f", "--out expects NAME=VALUE");
}

TEST_P(CliRunTest, EmptyNpyIsBadInput) {
  xt::xarray<float> empty = xt::xarray<float>::from_shape({0, 5});
  xt::dump_npy(path("empty.npy"), empty);
  const std::string args = small_args();
  expect_usage_error("run " + image() + " --runtime " + GetParam() +
                         " --arg a=" + path("empty.npy") + " --arg b=" + path("b.npy"),
                     "no elements");
}

// A 0-d array is not silently run as shape (1,): it is bad input, with the way to pass it.
TEST_P(CliRunTest, ZeroDimNpyIsBadInput) {
  xt::xarray<float> zero_d = 3.0f;
  ASSERT_EQ(zero_d.dimension(), 0u);
  xt::dump_npy(path("zero_d.npy"), zero_d);
  expect_usage_error("run " + image() + " --runtime " + GetParam() +
                         " --arg a=" + path("zero_d.npy") + " --arg b=" + path("zero_d.npy"),
                     "0-d array");
}

TEST_P(CliRunTest, UnwritableOutputIsExit2AndNamesThePathOnce) {
  const std::string args = small_args();
  for (const std::string& bad :
       std::vector<std::string>{path("no-such-dir/f.npy"), dir_.string()}) {
    for (const char* option : {" --out f=", " --trace "}) {
      expect_usage_error("run " + image() + args + option + bad, "cannot write " + bad);
      const std::string err = slurp("err");
      EXPECT_EQ(err.find(bad), err.rfind(bad)) << err;
    }
  }
}

TEST_P(CliRunTest, TextReportCountsOneTaskInTheSingular) {
  // The layered DAG of 1 x 1 is a single task.
  xt::xarray<float> t = xt::xarray<float>::from_shape({2, 1});
  t.fill(0.0f);
  xt::dump_npy(path("t.npy"), t);
  ASSERT_EQ(chiprt("run " + (fs::path(CHIPRT_EXAMPLES_DIR) / "layered_dag.chipimg").string() +
                   " --runtime " + GetParam() + " --arg t=" + path("t.npy") +
                   " --scalar layers=1 --scalar width=1"),
            0)
      << slurp("err");
  EXPECT_EQ(slurp("out").rfind("1 task on " + GetParam(), 0), 0u) << slurp("out");
}

// A deadlocked program (orch_stall.c: task 1, func 2, waits on task 0, func 1, which never
// finishes) fails with exit 1 and one stderr line naming both tasks; --json prints the stall
// report under "stall".
TEST_P(CliRunTest, AStalledRunPrintsWhatItWaitedFor) {
  const fs::path so(CHIPRT_TEST_SO_DIR);
  const std::string kernel = (so / "kernel_fault.so").string();
  ASSERT_EQ(chiprt("pack --orch " + (so / "orch_stall.so").string() + " --kernel 1:aiv:" + kernel +
                   " --kernel 2:aiv:" + kernel + " -o " + path("stall.chipimg")),
            0)
      << slurp("err");
  xt::xarray<float> x = xt::arange<float>(64);
  xt::dump_npy(path("x.npy"), x);
  EXPECT_EQ(chiprt("run " + path("stall.chipimg") + " --runtime " + GetParam() +
                   " --arg x=" + path("x.npy") + " --stall-timeout 0.3 --json"),
            1);
  const std::string err = slurp("err");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("deadline_exceeded: "), std::string::npos) << err;
  // Packed without :NAME, each kernel is named after its file.
  EXPECT_NE(err.find("task 1 (func 2 'kernel_fault') waits on task 0 (func 1 'kernel_fault'), "
                     "running on aiv core "),
            std::string::npos)
      << err;
  const auto failed = nlohmann::json::parse(slurp("out"));
  EXPECT_EQ(failed["status"], "deadline_exceeded");
  const auto& stall = failed["stall"];
  EXPECT_EQ(stall["orchestration"], GetParam() == "tmr" ? "finished submitting" : "replaying");
  EXPECT_EQ(stall["snapshot"], true);
  EXPECT_EQ(stall["stall_timeout_s"], 0.3);
  ASSERT_EQ(stall["waiting"].size(), 1u);
  const auto& waiting = stall["waiting"][0];
  EXPECT_EQ(waiting["task_id"], 1);
  EXPECT_EQ(waiting["func_id"], 2);
  EXPECT_EQ(waiting["state"], "waiting");
  EXPECT_EQ(waiting["unmet"], 1);
  ASSERT_EQ(waiting["waits_on"].size(), 1u);
  EXPECT_EQ(waiting["waits_on"][0]["task_id"], 0);
  EXPECT_EQ(waiting["waits_on"][0]["func_id"], 1);
  EXPECT_EQ(waiting["waits_on"][0]["state"], "running");
  EXPECT_EQ(waiting["waits_on"][0]["core_type"], "aiv");
  EXPECT_TRUE(waiting["waits_on"][0].contains("core_index"));
}

// The signed example refuses arguments its signature does not list as bad input (exit 2, one
// line naming the argument), before anything runs.
// --check: a finding fails the run (exit 1) with one stderr line naming the check, the kernel
// and the tensor, and --json carries every finding; a clean program passes and reports its
// schedules; an unknown check is bad input.
TEST_P(CliRunTest, ChecksFailABuggyKernelAndPassACleanOne) {
  const fs::path so(CHIPRT_TEST_SO_DIR);
  std::string kernels;
  for (int f = 1; f <= 7; ++f) {
    kernels += " --kernel " + std::to_string(f) + ":aiv:" + (so / "kernel_check.so").string();
  }
  ASSERT_EQ(chiprt("pack --orch " + (so / "orch_check.so").string() + kernels + " -o " +
                   path("check.chipimg")),
            0)
      << slurp("err");
  xt::xarray<float> x = xt::arange<float>(64);
  xt::dump_npy(path("x.npy"), x);
  const std::string run = "run " + path("check.chipimg") + " --runtime " + GetParam() +
                          " --arg x=" + path("x.npy") + " --check all --json --scalar bug=";

  EXPECT_EQ(chiprt(run + "1"), 1);
  const std::string err = slurp("err");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("check_failed: "), std::string::npos) << err;
  EXPECT_NE(err.find("memcheck: task 0 (func_id 2"), std::string::npos) << err;
  EXPECT_NE(err.find("output 'y0'"), std::string::npos) << err;
  const auto failed = nlohmann::json::parse(slurp("out"));
  EXPECT_EQ(failed["status"], "check_failed");
  EXPECT_EQ(failed["checks"]["enabled"], "memcheck,racecheck,initcheck");
  const auto& first = failed["checks"]["findings"][0];
  EXPECT_EQ(first["check"], "memcheck");
  EXPECT_EQ(first["func_id"], 2);
  EXPECT_EQ(first["core_type"], "aiv");
  EXPECT_EQ(first["tensor"], "y0");
  EXPECT_EQ(first["unit"], "bytes");
  EXPECT_EQ(first["end"], 192 * 4);

  ASSERT_EQ(chiprt(run + "0 --out y0=" + path("y0.npy")), 0) << slurp("err");
  const auto passed = nlohmann::json::parse(slurp("out"));
  EXPECT_EQ(passed["checks"]["findings"].size(), 0u);
  EXPECT_EQ(passed["checks"]["schedules"], 9);
  const auto y0 = xt::load_npy<float>(path("y0.npy"));
  ASSERT_EQ(y0.size(), 64u);
  for (size_t i = 0; i < 64; ++i) EXPECT_EQ(y0(i), 2.0f * static_cast<float>(i));

  // One seed, one schedule.
  ASSERT_EQ(chiprt(run + "0 --check-seed 3"), 0) << slurp("err");
  EXPECT_EQ(nlohmann::json::parse(slurp("out"))["checks"]["schedules"], 2);
  expect_usage_error("run " + path("check.chipimg") + " --runtime " + GetParam() +
                         " --arg x=" + path("x.npy") + " --check memcheck,leakcheck",
                     "'leakcheck'");
}

// A diamond (A; B and C; D): the trace's flow arrows are its 4 dependencies, the report's
// critical path is 3 tasks long, and `graph` draws 4 nodes and 4 edges as DOT and as SVG.
TEST_P(CliRunTest, ReportTraceAndGraphOfADiamond) {
  const fs::path so(CHIPRT_TEST_SO_DIR);
  const std::string kernel = (so / "kernel_diagnostics.so").string();
  ASSERT_EQ(chiprt("pack --orch " + (so / "orch_diagnostics.so").string() +
                   " --kernel 1:aiv:" + kernel + ":scale --kernel 2:aiv:" + kernel +
                   ":inc --kernel 3:aiv:" + kernel + ":add --name diamond -o " + path("d.chipimg")),
            0)
      << slurp("err");
  xt::xarray<float> x = xt::ones<float>({4, 16});
  xt::dump_npy(path("x.npy"), x);
  const std::string args = path("d.chipimg") + " --runtime " + GetParam() +
                           " --arg x=" + path("x.npy") + " --scalar spin=500";
  ASSERT_EQ(chiprt("run " + args + " --report --json --trace " + path("t.json")), 0)
      << slurp("err");
  const auto out = nlohmann::json::parse(slurp("out"));
  const auto& report = out["report"];
  EXPECT_EQ(report["tasks"], 4);
  EXPECT_EQ(report["critical_path"]["tasks"].size(), 3u);
  EXPECT_EQ(report["critical_path"]["tasks"][0]["task"], 0);
  EXPECT_EQ(report["critical_path"]["tasks"][2]["task"], 3);
  EXPECT_GE(report["critical_path"]["us"].get<double>(), 1500.0);
  EXPECT_EQ(report["dependencies"]["edges"], 4);
  EXPECT_EQ(report["dependencies"]["raw"], 4);
  EXPECT_EQ(report["tasks_per_kernel"]["inc"], 2);
  EXPECT_EQ(report["critical_path"]["tasks"][0]["kernel"], "scale");
  EXPECT_EQ(report["critical_path"]["tasks"][2]["kernel"], "add");
  for (const auto& core : report["cores"]) {
    EXPECT_GE(core["busy_share"].get<double>(), 0.0);
    EXPECT_LE(core["busy_share"].get<double>(), 1.0);
  }

  const auto trace = nlohmann::json::parse(slurp("t.json"));
  std::set<std::pair<uint64_t, uint64_t>> arrows;
  std::map<uint64_t, nlohmann::json> starts;
  size_t tasks = 0, finishes = 0;
  std::multiset<std::string> kernels;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X" && e["cat"] == "task") {
      ++tasks;
      kernels.insert(e["name"].get<std::string>());
      EXPECT_EQ(e["args"]["kernel"], e["name"]);
    }
    if (e["ph"] == "s") starts[e["id"].get<uint64_t>()] = e;
    if (e["ph"] == "f") {
      ++finishes;
      EXPECT_EQ(e["name"], "RAW");
      arrows.emplace(e["args"]["from"].get<uint64_t>(), e["args"]["to"].get<uint64_t>());
      EXPECT_TRUE(starts.contains(e["id"].get<uint64_t>()));
    }
  }
  EXPECT_EQ(tasks, 4u);
  EXPECT_EQ(kernels, (std::multiset<std::string>{"scale", "inc", "inc", "add"}));
  EXPECT_EQ(starts.size(), 4u);
  EXPECT_EQ(finishes, 4u);
  EXPECT_EQ(arrows, (std::set<std::pair<uint64_t, uint64_t>>{{0, 1}, {0, 2}, {1, 3}, {2, 3}}));

  ASSERT_EQ(chiprt("graph " + args + " --format dot -o " + path("g.dot")), 0) << slurp("err");
  const std::string dot = slurp("g.dot");
  size_t edges = 0;
  for (size_t at = dot.find("->"); at != std::string::npos; at = dot.find("->", at + 2)) ++edges;
  EXPECT_EQ(edges, 4u) << dot;
  for (const char* node : {"t0 [", "t1 [", "t2 [", "t3 ["}) {
    EXPECT_NE(dot.find(node), std::string::npos) << node << "\n" << dot;
  }
  EXPECT_NE(dot.find("t0 -> t1"), std::string::npos) << dot;
  EXPECT_NE(dot.find("label=\"scale\\ntask 0"), std::string::npos) << dot;
  ASSERT_EQ(chiprt("graph " + args + " --format svg -o " + path("g.svg")), 0) << slurp("err");
  const std::string svg = slurp("g.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  size_t nodes = 0;
  for (size_t at = svg.find("class=\"node\""); at != std::string::npos;
       at = svg.find("class=\"node\"", at + 1)) {
    ++nodes;
  }
  EXPECT_EQ(nodes, 4u);
}

TEST_P(CliRunTest, ArgumentsOffTheSignatureAreBadInputNamingTheArgument) {
  xt::xarray<float> a = xt::xarray<float>::from_shape({4});
  a.fill(2.0f);
  xt::dump_npy(path("a.npy"), a);
  expect_usage_error("run " + image() + " --runtime " + GetParam() + " --arg a=" + path("a.npy"),
                     "'b'");
  expect_usage_error("run " + image() + small_args() + " --arg c=" + path("a.npy"), "'c'");
}

// The orchestration's log lines are shown at info, tagged with the callable, on both runtimes
// (tmr: from the device process), and --log-level / CHIPRT_LOG_LEVEL hide them.
TEST_P(CliRunTest, OrchestrationLogLinesAreShownTaggedWithTheCallable) {
  xt::xarray<float> a = xt::xarray<float>::from_shape({4});
  a.fill(2.0f);
  xt::dump_npy(path("a.npy"), a);
  xt::xarray<float> b = xt::xarray<float>::from_shape({5});
  b.fill(3.0f);
  xt::dump_npy(path("b.npy"), b);
  const std::string run = "run " + image() + " --runtime " + GetParam() +
                          " --arg a=" + path("a.npy") + " --arg b=" + path("b.npy");
  const std::string line = "a and b must be float32 tensors of the same shape";
  EXPECT_EQ(chiprt(run), 1);
  const std::string shown = slurp("out") + slurp("err");
  EXPECT_NE(shown.find("[callable 'vector'"), std::string::npos) << shown;
  EXPECT_NE(shown.find(line), std::string::npos) << shown;
  EXPECT_NE(slurp("err").find("orchestration entry returned 2"), std::string::npos);

  EXPECT_EQ(chiprt(run + " --log-level error"), 1);
  EXPECT_EQ((slurp("out") + slurp("err")).find(line), std::string::npos);
  EXPECT_EQ(chiprt("run " + image() + " --runtime " + GetParam() + " --arg a=" + path("a.npy") +
                   " --arg b=" + path("b.npy") + " --log-level bogus"),
            2);
  EXPECT_EQ(chiprt_env("CHIPRT_LOG_LEVEL=warn", run), 1);
  EXPECT_EQ((slurp("out") + slurp("err")).find(line), std::string::npos);
}

// SIGINT and SIGTERM while a kernel spins: the run is cancelled, the device process reaped, no
// partial --out file is left (nor its temporary), and the exit code is 128 + the signal.
TEST_P(CliRunTest, AnInterruptedRunExitsWithTheSignalsCodeAndLeavesNoOutput) {
  const Bytes fault = test_image("orch_fault.so", {{1, CoreType::aiv, "kernel_fault.so"}}, "fault");
  std::ofstream(path("fault.chipimg"), std::ios::binary)
      .write(reinterpret_cast<const char*>(fault.data()),
             static_cast<std::streamsize>(fault.size()));
  xt::xarray<float> x = xt::xarray<float>::from_shape({256});
  x.fill(1.0f);
  xt::dump_npy(path("x.npy"), x);
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    const std::string cmd = "exec " + std::string(CHIPRT_CLI) + " run " + path("fault.chipimg") +
                            " --runtime " + GetParam() + " --arg x=" + path("x.npy") +
                            " --scalar fault=5 --out out=" + path("z.npy") +
                            " --timeout 120 --stall-timeout 60 >/dev/null 2>" + path("err");
    const pid_t cli = fork();
    ASSERT_GE(cli, 0);
    if (cli == 0) {
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Waits for the event: the CLI's device process burning CPU (the kernel spins).
    pid_t device = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < give_up) {
      const std::vector<pid_t> kids = children_of(cli);
      if (!kids.empty() && process_cpu_seconds(kids.front()) >= 0.3) {
        device = kids.front();
        break;
      }
      std::this_thread::yield();
    }
    ASSERT_GT(device, 0) << "the kernel never spun: " << slurp("err");
    ASSERT_EQ(kill(cli, sig), 0);
    int status = 0;
    ASSERT_EQ(waitpid(cli, &status, 0), cli);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << slurp("err");
    EXPECT_NE(kill(device, 0), 0) << "the device process outlived the CLI";
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      left.push_back(entry.path().filename().string());
    }
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"err", "fault.chipimg", "x.npy"}));
  }
}

// The unsigned "double" callable (y = 2 * x) whose orchestration logs a line on success.
std::string CliRunTest::pack_logged_double() {
  const fs::path so(CHIPRT_TEST_SO_DIR);
  const std::string image = path("double.chipimg");
  EXPECT_EQ(chiprt("pack --orch " + (so / "orch_logged.so").string() + " --kernel 1:aiv:" +
                   (so / "kernel_double.so").string() + " --name double -o " + image),
            0)
      << slurp("err");
  xt::xarray<float> x = xt::xarray<float>::from_shape({3000});
  x.fill(1.5f);
  xt::dump_npy(path("x.npy"), x);
  return image;
}

// stdout holds the results alone: with --json, one JSON document even though the orchestration
// logs (its lines go to stderr).
TEST_P(CliRunTest, JsonIsOneDocumentOnStdoutWhileTheOrchestrationLogs) {
  const std::string image = pack_logged_double();
  ASSERT_EQ(chiprt("run " + image + " --runtime " + GetParam() + " --arg x=" + path("x.npy") +
                   " --out y=" + path("y.npy") + " --json"),
            0)
      << slurp("err");
  const nlohmann::json report = nlohmann::json::parse(slurp("out"));  // throws on anything else
  EXPECT_EQ(report["runtime"], GetParam());
  EXPECT_EQ(report["tasks"], 3);
  const std::string err = slurp("err");
  EXPECT_NE(err.find(GetParam() == "tmr" ? "[callable 'double', device run "
                                         : "[callable 'double', host] submitted\n"),
            std::string::npos)
      << err;
  const xt::xarray<float> y = xt::load_npy<float>(path("y.npy"));
  EXPECT_EQ(y.size(), 3000u);
  EXPECT_TRUE(xt::all(xt::equal(y, 3.0f)));
}

// An unsigned image run without the argument its orchestration asks for: the same message on
// both runtimes, naming the callable by its image name and the missing argument.
TEST_P(CliRunTest, AMissingArgumentIsNamedWithTheCallableOnBothRuntimes) {
  const std::string image = pack_logged_double();
  EXPECT_EQ(chiprt("run " + image + " --runtime " + GetParam()), 1);
  EXPECT_EQ(slurp("err"),
            "chiprt: orchestration_failed: running callable 'double' (id 0): orchestration entry "
            "returned 1; last error: not_found: no tensor argument 'x'\n");
  // A scalar under the tensor's name is the usual slip: the message says so.
  EXPECT_EQ(chiprt("run " + image + " --runtime " + GetParam() + " --scalar x=2"), 1);
  EXPECT_EQ(slurp("err"),
            "chiprt: orchestration_failed: running callable 'double' (id 0): orchestration entry "
            "returned 1; last error: not_found: no tensor argument 'x' (it was given as a "
            "scalar; a tensor argument is an array of at least one dimension)\n");
}

// A signed image says what it makes: an --out it does not make is refused before the run (the
// missing 'b' would otherwise be the error).
TEST_P(CliRunTest, AnOutputTheSignatureDoesNotMakeIsRefusedBeforeTheRun) {
  xt::xarray<float> a = xt::xarray<float>::from_shape({4});
  a.fill(2.0f);
  xt::dump_npy(path("a.npy"), a);
  EXPECT_EQ(chiprt("run " + image() + " --runtime " + GetParam() + " --arg a=" + path("a.npy") +
                   " --out g=" + path("g.npy")),
            2);
  EXPECT_EQ(slurp("err"),
            "chiprt: invalid_argument: --out g: the image's signature makes no output 'g' (its "
            "outputs: f)\n");
  EXPECT_FALSE(fs::exists(path("g.npy")));
}

// An .npy of a dtype chiprt does not take lists the ones it does.
TEST_P(CliRunTest, AnUnsupportedNpyDtypeListsTheSupportedOnes) {
  xt::xarray<double> a = xt::xarray<double>::from_shape({4});
  a.fill(2.0);
  xt::dump_npy(path("a64.npy"), a);
  expect_usage_error("run " + image() + " --runtime " + GetParam() + " --arg a=" + path("a64.npy") +
                         " --arg b=" + path("a64.npy"),
                     "unsupported dtype '<f8' (supported: float32 '<f4', float16 '<f2', int32 "
                     "'<i4', int64 '<i8', uint8 '|u1')");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, CliRunTest, ::testing::Values("tmr", "hbg"));

}  // namespace
}  // namespace chiprt::testing

// Diagnostics of a traced run: the dependency edges (endpoints and kinds) against graphs whose
// edges are known by construction, every edge honoured by the schedule, the orchestration track,
// and the run summary's critical path against an independent longest-path search, on both
// runtimes.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "chiprt/run_summary.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

using EdgeSet = std::set<std::tuple<uint64_t, uint64_t, uint32_t>>;  // (from, to, kinds)

Bytes diagnostics_image() {
  return test_image("orch_diagnostics.so",
                    {{1, CoreType::aiv, "kernel_diagnostics.so"},
                     {2, CoreType::aiv, "kernel_diagnostics.so"},
                     {3, CoreType::aiv, "kernel_diagnostics.so"}},
                    "diagnostics");
}

EdgeSet edge_set(const RunReport& report) {
  EdgeSet out;
  for (const TaskEdge& e : report.edges) out.emplace(e.from, e.to, e.kinds);
  return out;
}

const TaskTrace& task_of(const RunReport& report, uint64_t id) {
  auto it = std::find_if(report.trace.begin(), report.trace.end(),
                         [&](const TaskTrace& t) { return t.task_id == id; });
  EXPECT_NE(it, report.trace.end()) << "no task " << id << " in the trace";
  return *it;
}

// Every edge joins two traced tasks, and the later one started after the earlier one ended.
void expect_edges_honoured(const RunReport& report) {
  for (const TaskEdge& e : report.edges) {
    const TaskTrace& from = task_of(report, e.from);
    const TaskTrace& to = task_of(report, e.to);
    EXPECT_GE(to.start_us, from.end_us) << "edge " << e.from << " -> " << e.to;
  }
}

// The longest path by kernel time, by trying every path from every task (exponential: small
// graphs only), independently of the summary's dynamic program.
double longest_path_us(const RunReport& report, std::vector<uint64_t>& best_path) {
  std::map<uint64_t, std::vector<uint64_t>> successors;
  for (const TaskEdge& e : report.edges) successors[e.from].push_back(e.to);
  auto us = [&](uint64_t id) {
    const TaskTrace& t = task_of(report, id);
    return t.end_us - t.start_us;
  };
  double best = -1;
  std::vector<uint64_t> path;
  std::function<void(uint64_t, double)> walk = [&](uint64_t id, double so_far) {
    path.push_back(id);
    const double here = so_far + us(id);
    if (here > best) {
      best = here;
      best_path = path;
    }
    for (uint64_t next : successors[id]) walk(next, here);
    path.pop_back();
  };
  for (const TaskTrace& t : report.trace) walk(t.task_id, 0);
  return best;
}

class DiagnosticsTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  void SetUp() override { rig_ = make_rig("a2a3", GetParam()); }
  RunReport run(const Bytes& image, const RunArgs& args) {
    auto id = rig_.worker->register_callable(image);
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    auto report = rig_.worker->run(*id, args);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_TRUE(rig_.worker->unregister_callable(*id).ok());
    return report.ok() ? std::move(report).value() : RunReport{};
  }
  static RunArgs diagnostics_args(double which, double spin = 0, bool sync = false) {
    RunArgs args;
    args.tensors["x"] = host_f32({4, 16}, std::vector<float>(64, 1.5f));
    args.scalars["case"] = which;
    args.scalars["spin"] = spin;
    if (sync) args.scalars["sync"] = 1;
    args.trace = true;
    return args;
  }
  Rig rig_;
};

TEST_P(DiagnosticsTest, LayeredDagEdgesAreTheTwoWritersOfEachTasksInputs) {
  constexpr int64_t kLayers = 4, kWidth = 5;
  RunArgs args;
  args.tensors["t"] = host_f32({kLayers + 1, kWidth}, std::vector<float>((kLayers + 1) * kWidth));
  args.scalars["layers"] = kLayers;
  args.scalars["width"] = kWidth;
  args.trace = true;
  const RunReport report = run(example_image("layered_dag"), args);
  // Task (l, w) = l * width + w reads row l at w and (w + 1) % width, which tasks (l - 1, w) and
  // (l - 1, (w + 1) % width) wrote: read-after-write.
  EdgeSet want;
  for (int64_t l = 1; l < kLayers; ++l) {
    for (int64_t w = 0; w < kWidth; ++w) {
      const auto to = static_cast<uint64_t>(l * kWidth + w);
      want.emplace(static_cast<uint64_t>((l - 1) * kWidth + w), to, kReadAfterWrite);
      want.emplace(static_cast<uint64_t>((l - 1) * kWidth + (w + 1) % kWidth), to, kReadAfterWrite);
    }
  }
  EXPECT_EQ(report.edges.size(), want.size());
  EXPECT_EQ(edge_set(report), want);
  ASSERT_EQ(report.trace.size(), static_cast<size_t>(kLayers * kWidth));
  expect_edges_honoured(report);
  if (GetParam() == RuntimeKind::hbg) EXPECT_EQ(report.graph_edges, want.size());
}

TEST_P(DiagnosticsTest, EachKindOfDependencyIsNamed) {
  const RunReport report = run(diagnostics_image(), diagnostics_args(1));
  const EdgeSet want = {{0, 1, kReadAfterWrite},
                        {0, 2, kWriteAfterWrite},
                        {1, 2, kWriteAfterRead},
                        {1, 3, kReadAfterWrite},
                        {2, 3, kReadAfterWrite}};
  EXPECT_EQ(edge_set(report), want);
  expect_edges_honoured(report);
  const auto summary = summarize_run(report);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  EXPECT_EQ(summary->edges, 5u);
  EXPECT_EQ(summary->edges_raw, 3u);
  EXPECT_EQ(summary->edges_war, 1u);
  EXPECT_EQ(summary->edges_waw, 1u);
  EXPECT_EQ(dependency_kind_names(kReadAfterWrite | kWriteAfterWrite), "RAW+WAW");
}

TEST_P(DiagnosticsTest, AttentionEdgesAreHonouredAndTheSameOnBothRuntimes) {
  RunArgs args;
  args.tensors["q"] = host_f32({32, 16}, pattern(32 * 16, 1));
  args.tensors["k"] = host_f32({48, 16}, pattern(48 * 16, 2));
  args.tensors["v"] = host_f32({48, 8}, pattern(48 * 8, 3));
  args.scalars["tile"] = 16;
  args.trace = true;
  const RunReport report = run(example_image("attention"), args);
  ASSERT_EQ(report.trace.size(), report.tasks);
  ASSERT_FALSE(report.edges.empty());
  expect_edges_honoured(report);
  if (GetParam() == RuntimeKind::hbg) {
    EXPECT_EQ(report.edges.size(), report.graph_edges);  // the uploaded graph's header
  }
  // The other runtime derives the same dependencies from the same orchestration calls.
  Rig other =
      make_rig("a2a3", GetParam() == RuntimeKind::tmr ? RuntimeKind::hbg : RuntimeKind::tmr);
  auto id = other.worker->register_callable(example_image("attention"));
  ASSERT_TRUE(id.ok());
  auto theirs = other.worker->run(*id, args);
  ASSERT_TRUE(theirs.ok()) << theirs.status().to_string();
  EdgeSet overlap_only;  // hbg's heap-reuse ordering has no tmr counterpart
  for (const auto& [from, to, kinds] : edge_set(*theirs)) {
    if (kinds != kMemoryReuse) overlap_only.emplace(from, to, kinds & ~uint32_t{kMemoryReuse});
  }
  EdgeSet mine;
  for (const auto& [from, to, kinds] : edge_set(report)) {
    if (kinds != kMemoryReuse) mine.emplace(from, to, kinds & ~uint32_t{kMemoryReuse});
  }
  EXPECT_EQ(mine, overlap_only);
}

TEST_P(DiagnosticsTest, CriticalPathIsTheLongestPathOfTheTrace) {
  for (double which : {0.0, 1.0}) {
    const RunReport report = run(diagnostics_image(), diagnostics_args(which, 300));
    const auto summary = summarize_run(report);
    ASSERT_TRUE(summary.ok()) << summary.status().to_string();
    std::vector<uint64_t> path;
    const double want = longest_path_us(report, path);
    EXPECT_NEAR(summary->critical_path.us, want, 1e-6);
    std::vector<uint64_t> got;
    for (const auto& step : summary->critical_path.tasks) got.push_back(step.task);
    EXPECT_EQ(got, path);
    EXPECT_EQ(got.size(), which == 0 ? 3u : 4u);  // A, B or C, D; every task of case 1
    EXPECT_GE(summary->critical_path.us, 300.0 * static_cast<double>(got.size()));
  }
}

TEST_P(DiagnosticsTest, BusySharesStayWithinOneAndCountEveryTask) {
  const RunReport report = run(diagnostics_image(), diagnostics_args(0, 200));
  const auto summary = summarize_run(report);
  ASSERT_TRUE(summary.ok()) << summary.status().to_string();
  uint64_t tasks = 0;
  for (const auto& core : summary->cores) {
    EXPECT_GE(core.share, 0.0);
    EXPECT_LE(core.share, 1.0);
    tasks += core.tasks;
  }
  EXPECT_EQ(tasks, 4u);
  for (const auto& type : summary->core_types) {
    EXPECT_GE(type.share, 0.0);
    EXPECT_LE(type.share, 1.0);
  }
  EXPECT_EQ(summary->tasks_per_kernel.at("func 2"), 2u);
  EXPECT_EQ(summary->tasks_per_kernel.at("func 1"), 1u);
  // D cannot start before both B and C ended: its ready time is their later end.
  const TaskTrace& d = task_of(report, 3);
  EXPECT_GE(d.start_us, std::max(task_of(report, 1).end_us, task_of(report, 2).end_us));
  EXPECT_GE(summary->ready_wait_max_us, 0.0);
}

TEST_P(DiagnosticsTest, OrchestrationTrackShowsWhatTheOrchestrationDid) {
  const RunReport report = run(diagnostics_image(), diagnostics_args(1, 0, true));
  std::map<OrchestrationSpan::Kind, int> kinds;
  for (const OrchestrationSpan& s : report.orchestration) {
    ++kinds[s.kind];
    EXPECT_LE(s.start_us, s.end_us);
  }
  if (GetParam() == RuntimeKind::tmr) {
    EXPECT_EQ(kinds[OrchestrationSpan::entry], 1);
    EXPECT_EQ(kinds[OrchestrationSpan::submit], 4);
    EXPECT_EQ(kinds[OrchestrationSpan::sync], 1);
    for (const OrchestrationSpan& s : report.orchestration) {
      if (s.kind != OrchestrationSpan::submit) continue;
      // A task is submitted before it starts, and its submit span names it.
      EXPECT_LE(s.start_us, task_of(report, s.task_id).start_us);
      EXPECT_EQ(task_of(report, s.task_id).submit_us, s.start_us);
    }
  } else {
    EXPECT_EQ(kinds[OrchestrationSpan::record], 1);  // recorded this run (a cache miss)
    EXPECT_EQ(kinds[OrchestrationSpan::replay], 1);
    EXPECT_EQ(kinds[OrchestrationSpan::submit], 0);
  }
}

TEST_P(DiagnosticsTest, UntracedRunsRecordNothing) {
  RunArgs args = diagnostics_args(1);
  args.trace = false;
  const RunReport report = run(diagnostics_image(), args);
  EXPECT_TRUE(report.trace.empty());
  EXPECT_TRUE(report.edges.empty());
  EXPECT_TRUE(report.orchestration.empty());
  EXPECT_FALSE(summarize_run(report).ok());  // nothing to summarize: says so
}

TEST_P(DiagnosticsTest, GraphGivesTheRunsTasksAndEdges) {
  auto id = rig_.worker->register_callable(diagnostics_image());
  ASSERT_TRUE(id.ok());
  // Kernels that fail when they run: hbg records the graph without running them; tmr runs it.
  RunArgs failing = diagnostics_args(1);
  failing.scalars["fail"] = 1;
  auto failed = rig_.worker->graph(*id, failing);
  if (GetParam() == RuntimeKind::tmr) {
    EXPECT_EQ(failed.status().code(), StatusCode::kernel_failed);
  } else {
    EXPECT_TRUE(failed.ok()) << failed.status().to_string();
  }
  auto graph = rig_.worker->graph(*id, diagnostics_args(1));
  ASSERT_TRUE(graph.ok()) << graph.status().to_string();
  EXPECT_EQ(graph->trace.size(), 4u);
  EXPECT_EQ(edge_set(*graph), (EdgeSet{{0, 1, kReadAfterWrite},
                                       {0, 2, kWriteAfterWrite},
                                       {1, 2, kWriteAfterRead},
                                       {1, 3, kReadAfterWrite},
                                       {2, 3, kReadAfterWrite}}));
  ASSERT_TRUE(rig_.worker->unregister_callable(*id).ok());
}

TEST(RunSummaryTest, RefusesEdgesTheTraceCannotHave) {
  RunReport report;
  report.tasks = 2;
  report.trace = {{0, 1, 1, 0, 0, 10, 0}, {1, 1, 1, 0, 10, 20, 0}};
  report.edges = {{0, 1, kReadAfterWrite}};
  EXPECT_TRUE(summarize_run(report).ok());
  report.edges = {{0, 7, kReadAfterWrite}};
  EXPECT_EQ(summarize_run(report).status().code(), StatusCode::invalid_argument);
  report.edges = {{1, 0, kReadAfterWrite}};
  EXPECT_EQ(summarize_run(report).status().code(), StatusCode::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, DiagnosticsTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const auto& info) { return std::string(runtime_name(info.param)); });

}  // namespace
}  // namespace chiprt::testing

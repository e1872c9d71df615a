// hbg against tmr: bitwise-equal outputs, orchestration bytes never on the device (and exactly
// once on tmr), graph reuse keyed by shapes and scalars read, a bounded cache released with its
// callable.
#include <chrono>
#include <cstring>
#include <set>
#include <span>
#include <thread>

#include "random_dag.h"
#include "runtime/hbg/device_graph.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

struct Example {
  std::string name;
  RunArgs args;
};

std::vector<Example> examples() {
  std::vector<Example> out(4);
  out[0].name = "vector";
  out[0].args.tensors["a"] = host_f32({5, 300}, pattern(1500, 1));
  out[0].args.tensors["b"] = host_f32({5, 300}, pattern(1500, 2));
  out[0].args.scalars["tile"] = 256;
  out[1].name = "matmul";
  out[1].args.tensors["a"] = host_f32({40, 70}, pattern(2800, 3));
  out[1].args.tensors["b"] = host_f32({70, 50}, pattern(3500, 4));
  out[1].args.tensors["bias"] = host_f32({50}, pattern(50, 5));
  out[1].args.scalars["tile"] = 16;
  out[2].name = "softmax";
  out[2].args.tensors["x"] = host_f32({30, 20}, pattern(600, 6));
  out[2].args.scalars["tile"] = 4;
  out[3].name = "attention";
  out[3].args.tensors["q"] = host_f32({24, 8}, pattern(192, 7));
  out[3].args.tensors["k"] = host_f32({40, 8}, pattern(320, 8));
  out[3].args.tensors["v"] = host_f32({40, 12}, pattern(480, 9));
  out[3].args.scalars["tile"] = 8;
  return out;
}

std::map<std::string, HostTensor> outputs(const char* profile, RuntimeKind runtime,
                                          const Bytes& image, const RunArgs& args) {
  Rig rig = make_rig(profile, runtime);
  auto id = rig.worker->register_callable(image);
  EXPECT_TRUE(id.ok());
  auto report = rig.worker->run(*id, args);
  EXPECT_TRUE(report.ok()) << report.status().to_string();
  return report.ok() ? report->outputs : std::map<std::string, HostTensor>{};
}

TEST(Hbg, OutputsAreBitwiseEqualToTmr) {
  for (const char* profile : kProfiles) {
    for (const Example& ex : examples()) {
      const Bytes image = example_image(ex.name);
      const auto tmr = outputs(profile, RuntimeKind::tmr, image, ex.args);
      const auto hbg = outputs(profile, RuntimeKind::hbg, image, ex.args);
      ASSERT_EQ(tmr.size(), hbg.size());
      for (const auto& [name, t] : tmr) {
        const HostTensor& h = hbg.at(name);
        EXPECT_EQ(t.shape, h.shape);
        ASSERT_EQ(t.data.size(), h.data.size());
        EXPECT_EQ(std::memcmp(t.data.data(), h.data.data(), t.data.size()), 0)
            << ex.name << " " << name << " on " << profile;
      }
    }
  }
}

// Copies of `window` in live device memory, found by walking the arena granule by granule.
size_t device_copies(Device& device, ByteSpan window, uint64_t capacity) {
  constexpr uint64_t kBase = 0x100000000000ull, kGranule = 512;
  size_t found = 0;
  for (uint64_t at = 0; at < capacity;) {
    if (device.host_pointer(kBase + at, kGranule) == nullptr) {
      at += kGranule;
      continue;
    }
    uint64_t end = at;
    while (end < capacity && device.host_pointer(kBase + end, kGranule) != nullptr) end += kGranule;
    // [at, end) is live, possibly several adjacent allocations: scan each on its own.
    for (uint64_t a = at; a < end;) {
      uint64_t b = a + kGranule;
      while (b < end && device.host_pointer(kBase + a, b + kGranule - a) != nullptr) b += kGranule;
      const std::byte* p = device.host_pointer(kBase + a, b - a);
      for (uint64_t i = 0; p && i + window.size() <= b - a; ++i) {
        if (std::memcmp(p + i, window.data(), window.size()) == 0) ++found;
      }
      a = b;
    }
    at = end;
  }
  return found;
}

// A 64-byte window of the orchestration with many distinct bytes (code, not padding).
ByteSpan orchestration_window(const ImageView& view) {
  const ByteSpan orch = view.orchestration();
  for (size_t off = orch.size() / 3; off + 64 <= orch.size(); off += 16) {
    std::set<std::byte> distinct(orch.begin() + off, orch.begin() + off + 64);
    if (distinct.size() >= 40) return orch.subspan(off, 64);
  }
  return orch.first(64);
}

TEST(Hbg, OrchestrationBytesAreNeverOnTheDeviceButOnceOnTmr) {
  // The run is held in its rendezvous kernel (side 0) until this thread, as the other side,
  // signals through the device tensor the run takes: the scan happens during the run.
  const Bytes image =
      test_image("orch_rendezvous.so", {{1, CoreType::aiv, "kernel_rendezvous.so"}});
  auto view = ImageView::parse(image);
  ASSERT_TRUE(view.ok());
  const ByteSpan window = orchestration_window(*view);
  const uint64_t capacity = 64ull << 20;
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    WorkerOptions options;
    options.heap_bytes = 1 << 20;  // a2a3's 64 MiB heap would not fit beside the callable
    Rig rig = make_rig("a2a3", runtime, options, capacity);
    auto id = rig.worker->register_callable(image);
    ASSERT_TRUE(id.ok());
    auto gate = rig.worker->to_device(HostTensor{CHIPRT_DTYPE_I32, {4}, Bytes(16)});  // zeros
    ASSERT_TRUE(gate.ok()) << gate.status().to_string();
    RunArgs args;
    args.tensors["x"] = host_f32({64}, pattern(64, 1));
    args.device_inputs["flags"] = gate->ref();
    args.scalars["work_ms"] = 0;
    Result<RunReport> report = Status(StatusCode::internal, "not run");
    std::thread runner([&] { report = rig.worker->run(*id, args); });
    auto flags = [&] {
      std::vector<int32_t> f(4);
      EXPECT_TRUE(rig.worker->copy_from_device(*gate, std::as_writable_bytes(std::span(f))).ok());
      return f;
    };
    // Scan while the run holds its tensors (and, on hbg, its graph) in device memory: its
    // rendezvous kernel has signalled (flags[0]) and waits for flags[1] (at most 20 s).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (flags()[0] != 1 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    EXPECT_EQ(flags()[0], 1) << "the run's rendezvous kernel never ran";
    const size_t during = device_copies(*rig.device, window, capacity);
    const std::vector<int32_t> open{1, 1, 1, 1};
    EXPECT_TRUE(rig.worker->copy_to_device(*gate, std::as_bytes(std::span(open))).ok());
    runner.join();
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(during, runtime == RuntimeKind::tmr ? 1u : 0u) << runtime_name(runtime);
    EXPECT_EQ(device_copies(*rig.device, window, capacity), runtime == RuntimeKind::tmr ? 1u : 0u);
  }
}

TEST(Hbg, GraphIsReusedPerShapeAndScalarsAndCacheIsBounded) {
  WorkerOptions options;
  options.graph_cache_entries = 2;
  Rig rig = make_rig("a2a3", RuntimeKind::hbg, options);
  const uint64_t baseline = rig.device->stats().live_bytes;
  auto id = rig.worker->register_callable(example_image("vector"));
  ASSERT_TRUE(id.ok());
  const uint64_t registered = rig.device->stats().live_bytes;
  auto run = [&](int64_t n, double tile) {
    RunArgs args;
    args.tensors["a"] = host_f32({n}, std::vector<float>(n, 2.0f));
    args.tensors["b"] = host_f32({n}, std::vector<float>(n, 3.0f));
    args.scalars["tile"] = tile;
    auto report = rig.worker->run(*id, args);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    for (float v : floats(report->outputs.at("f"))) EXPECT_EQ(v, 47.0f);
    EXPECT_EQ(rig.device->stats().tag(MemoryTag::tensor).live_bytes, 0u);
    // The intermediate heap the worker made at its first run stays: 64 MiB, a2a3's default.
    EXPECT_EQ(rig.device->stats().live_bytes, registered + report->graph_cache_bytes + (64 << 20));
    return std::move(report).value();
  };
  RunReport first = run(1000, 100);
  EXPECT_FALSE(first.graph_cache_hit);
  EXPECT_EQ(first.orchestration_calls, 1u);
  EXPECT_EQ(first.graph_cache_bytes, first.graph_bytes);
  RunReport second = run(1000, 100);
  EXPECT_TRUE(second.graph_cache_hit);
  EXPECT_EQ(second.orchestration_calls, 0u);
  EXPECT_EQ(second.tasks, first.tasks);
  RunReport other_shape = run(2000, 100);
  EXPECT_FALSE(other_shape.graph_cache_hit);
  EXPECT_EQ(other_shape.tasks, 2 * first.tasks);
  RunReport other_scalar = run(1000, 250);  // a scalar the orchestration reads
  EXPECT_FALSE(other_scalar.graph_cache_hit);
  EXPECT_EQ(other_scalar.orchestration_calls, 1u);
  // Bounded at two graphs: the first one was evicted.
  EXPECT_EQ(other_scalar.graph_cache_bytes, other_shape.graph_bytes + other_scalar.graph_bytes);
  EXPECT_FALSE(run(1000, 100).graph_cache_hit);
  // The same image registered again shares the buffer, and so the graphs.
  auto again = rig.worker->register_callable(example_image("vector"));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
  id = again;
  EXPECT_TRUE(run(1000, 100).graph_cache_hit);
  // Released with the callable: back to the baseline, byte for byte, but for the worker's heap.
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
  EXPECT_EQ(rig.device->stats().tag(MemoryTag::runtime).live_bytes, 64u << 20);
  EXPECT_EQ(rig.device->stats().live_bytes, baseline + (64 << 20));
  rig.worker->finalize();
  EXPECT_EQ(rig.device->stats().tag(MemoryTag::runtime).live_bytes, 0u);
  EXPECT_EQ(rig.device->stats().live_bytes, baseline);
}

// The device sets a graph's replay up once and reuses it: each replay must still run on its own
// run's tensors, wherever they were placed and whatever they hold, and replays of one graph at
// once must not share one set-up.
TEST(Hbg, ReplaysRunOnTheirOwnTensorsWhereverTheyAre) {
  Rig rig = make_rig("a2a3", RuntimeKind::hbg);
  auto id = rig.worker->register_callable(example_image("vector"));
  ASSERT_TRUE(id.ok());
  constexpr int64_t kN = 1000;
  auto run = [&](float a, float b) {
    RunArgs args;
    args.tensors["a"] = host_f32({kN}, std::vector<float>(kN, a));
    args.tensors["b"] = host_f32({kN}, std::vector<float>(kN, b));
    args.scalars["tile"] = 100;
    auto report = rig.worker->run(*id, args);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    if (!report.ok()) return false;
    const float s = a + b, f = (s + 1) * (s + 2) + s;
    for (float v : floats(report->outputs.at("f"))) EXPECT_EQ(v, f) << a << " + " << b;
    return report->graph_cache_hit;
  };
  EXPECT_FALSE(run(2, 3));  // recorded
  EXPECT_TRUE(run(1, 1));
  // Buffers take the device memory the inputs were placed in (first fit), so the next run's
  // inputs and output land elsewhere.
  std::vector<DeviceBuffer> squatters;
  for (int i = 0; i < 4; ++i) {
    auto buffer = rig.device->allocate(kN * sizeof(float), MemoryTag::tensor);
    ASSERT_TRUE(buffer.ok());
    squatters.push_back(std::move(buffer).value());
  }
  EXPECT_TRUE(run(5, -2));
  squatters.clear();
  EXPECT_TRUE(run(0.5f, 0.25f));
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) EXPECT_TRUE(run(static_cast<float>(t), static_cast<float>(i)));
    });
  }
  for (std::thread& t : threads) t.join();
}

// Device graph layout (graph.h), written out here so the expected sizes do not come from the
// code under test: a 24-byte header, 32 bytes per task, 104 bytes per distinct parameter value
// (a chiprt_param_t), 4 bytes per parameter reference and per edge; allocations are rounded up
// to the simulated chip's 512-byte granularity.
constexpr uint64_t kHeaderBytes = 24, kTaskBytes = 32, kParamBytes = 104, kRefBytes = 4,
                   kEdgeBytes = 4, kGranularity = 512;

uint64_t rounded(uint64_t bytes) {
  return (bytes + kGranularity - 1) / kGranularity * kGranularity;
}

// orch_chain: N tasks of 5 parameters (acc, 4 scalars); distinct values: acc as output, acc as
// inout (from the second task on), scalars 1.0f and 0.0f; N - 1 edges.
uint64_t chain_graph_bytes(uint64_t n) {
  const uint64_t distinct = n > 1 ? 4 : 3;
  return kHeaderBytes + n * kTaskBytes + distinct * kParamBytes + 5 * n * kRefBytes +
         (n - 1) * kEdgeBytes;
}

Bytes chain_image() {
  return test_image("orch_chain.so", {{2, CoreType::aiv, "kernel_dag_op.so"}}, "chain");
}

RunArgs chain_args(uint64_t tasks) {
  RunArgs args;
  args.tensors["x"] = host_f32({4, 8}, std::vector<float>(32, 0.0f));
  args.scalars["tasks"] = static_cast<double>(tasks);
  return args;
}

TEST(Hbg, ChainOfInPlaceTasksRecordsOneEdgePerTaskAfterTheFirst) {
  Rig rig = make_rig("a2a3", RuntimeKind::hbg);
  auto id = rig.worker->register_callable(chain_image());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  for (uint64_t n : {1u, 2u, 1000u, 8000u}) {
    auto report = rig.worker->run(*id, chain_args(n));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->tasks, n);
    EXPECT_EQ(report->graph_edges, n - 1) << n << " tasks";
    EXPECT_EQ(report->graph_bytes, rounded(chain_graph_bytes(n))) << n << " tasks";
    for (float v : floats(report->outputs.at("acc"))) ASSERT_EQ(v, static_cast<float>(n));
  }
  // The budget: an 8,000-task in-place chain at most 128 graph bytes per task.
  auto report = rig.worker->run(*id, chain_args(8000));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->graph_cache_hit);
  EXPECT_LE(report->graph_bytes, 128u * 8000u);
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
}

TEST(Hbg, GraphCacheIsBoundedByBytesAsWellAsEntries) {
  constexpr uint64_t kBound = 36 * kGranularity;  // 18,432 bytes
  WorkerOptions options;
  options.graph_cache_bytes = kBound;
  Rig rig = make_rig("a2a3", RuntimeKind::hbg, options);
  auto id = rig.worker->register_callable(chain_image());
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  // Graph allocations of chains of 100, 200, 300, 400 tasks: 6,144, 11,776, 17,408 and
  // 23,040 bytes (chain_graph_bytes rounded to 512).
  const uint64_t g100 = 12 * kGranularity, g200 = 23 * kGranularity, g300 = 34 * kGranularity,
                 g400 = 45 * kGranularity;
  ASSERT_EQ(rounded(chain_graph_bytes(100)), g100);
  ASSERT_EQ(rounded(chain_graph_bytes(400)), g400);
  struct Expect {
    uint64_t tasks;
    bool hit;
    uint64_t entries, bytes, evictions;
  };
  const Expect steps[] = {
      {100, false, 1, g100, 0}, {200, false, 2, g100 + g200, 0}, {100, true, 2, g100 + g200, 0},
      {300, false, 1, g300, 2},  // 100 and 200 both go: 300 alone nearly fills the bound
      {100, false, 1, g100, 3},  // 300 + 100 exceed it: 300 goes
      {400, false, 0, 0, 5},     // larger than the bound: nothing is kept
      {100, false, 1, g100, 5},
  };
  for (const Expect& e : steps) {
    auto report = rig.worker->run(*id, chain_args(e.tasks));
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->graph_cache_hit, e.hit) << e.tasks;
    EXPECT_EQ(report->graph_cache_bytes, e.bytes) << e.tasks;
    const WorkerStats stats = rig.worker->stats();
    EXPECT_EQ(stats.graph_cache.entries, e.entries) << e.tasks;
    EXPECT_EQ(stats.graph_cache.bytes, e.bytes) << e.tasks;
    EXPECT_EQ(stats.graph_cache.evictions, e.evictions) << e.tasks;
    EXPECT_EQ(stats.graph_cache.capacity_entries, 16u);  // the default
    EXPECT_EQ(stats.graph_cache.capacity_bytes, kBound);
    EXPECT_EQ(stats.device.tag(MemoryTag::runtime).live_bytes, e.bytes) << e.tasks;
  }
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
  EXPECT_EQ(rig.worker->stats().graph_cache.bytes, 0u);
}

TEST(Hbg, GraphCacheIsBoundedByTheHostBytesItsGraphsHold) {
  // Measured once with the default bound: what one chain graph holds on the host (it grows with
  // its tasks: their kernels and dependency edges are kept for traces of its replays).
  uint64_t one_graph = 0, larger_graph = 0;
  {
    Rig rig = make_rig("a2a3", RuntimeKind::hbg);
    auto id = rig.worker->register_callable(chain_image());
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ASSERT_TRUE(rig.worker->run(*id, chain_args(100)).ok());
    const WorkerStats::GraphCache cache = rig.worker->stats().graph_cache;
    one_graph = cache.host_bytes;
    EXPECT_EQ(cache.entries, 1u);
    EXPECT_GT(one_graph, sizeof(runtime::DeviceGraph));
    EXPECT_EQ(cache.peak_host_bytes, one_graph);
    EXPECT_EQ(cache.capacity_host_bytes, kDefaultGraphCacheHostBytes);
    ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
    EXPECT_EQ(rig.worker->stats().graph_cache.host_bytes, 0u);
    EXPECT_EQ(rig.worker->stats().graph_cache.peak_host_bytes, one_graph);
    id = rig.worker->register_callable(chain_image());
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    ASSERT_TRUE(rig.worker->run(*id, chain_args(200)).ok());
    larger_graph = rig.worker->stats().graph_cache.host_bytes;
    EXPECT_GT(larger_graph, one_graph);
    ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
  }
  // Room for the larger graph but not for both: the second distinct graph evicts the first;
  // below the smaller one, nothing is kept.
  for (const uint64_t bound : {larger_graph + one_graph / 2, one_graph - 1}) {
    WorkerOptions options;
    options.graph_cache_host_bytes = bound;
    Rig rig = make_rig("a2a3", RuntimeKind::hbg, options);
    auto id = rig.worker->register_callable(chain_image());
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    const bool fits = bound >= larger_graph;
    for (uint64_t tasks : {100, 200, 200}) {
      auto report = rig.worker->run(*id, chain_args(tasks));
      ASSERT_TRUE(report.ok()) << report.status().to_string();
      const WorkerStats::GraphCache cache = rig.worker->stats().graph_cache;
      EXPECT_LE(cache.peak_host_bytes, bound);
      EXPECT_EQ(cache.entries, fits ? 1u : 0u) << tasks;
    }
    const WorkerStats::GraphCache cache = rig.worker->stats().graph_cache;
    EXPECT_EQ(cache.evictions, fits ? 1u : 3u);
    EXPECT_EQ(cache.capacity_host_bytes, bound);
    ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
  }
}

TEST(Hbg, GraphCacheBoundsDefaultAndTmrReportsNone) {
  Rig hbg = make_rig("a2a3", RuntimeKind::hbg);
  EXPECT_EQ(hbg.worker->stats().graph_cache.capacity_entries, 16u);
  EXPECT_EQ(hbg.worker->stats().graph_cache.capacity_bytes, 64ull << 20);
  Rig tmr = make_rig("a2a3", RuntimeKind::tmr);
  EXPECT_EQ(tmr.worker->stats().graph_cache.capacity_entries, 0u);
  EXPECT_EQ(tmr.worker->stats().graph_cache.capacity_bytes, 0u);
}

}  // namespace
}  // namespace chiprt::testing

// Property test: random DAGs (random_dag.h: random overlapping views and grid tiles of two
// tensors, random core types, 1..2000 tasks per seed) give exactly, bit for bit, what running
// the same tasks one after another in submission order gives. Both profiles, both runtimes,
// and a tiny ring.
#include <cstring>

#include "random_dag.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

struct Reference {
  std::vector<float> x, y;
};

dag_view host_view(std::vector<float>& t, const int64_t shape[2], const dag_ref& r) {
  return dag_view{t.data() + r.offset, {shape[0], shape[1]}, {r.strides[0], r.strides[1]}};
}

Reference sequential(uint64_t seed, uint32_t tasks, const std::vector<float>& x0,
                     const std::vector<float>& y0) {
  Reference ref;
  ref.x.resize(x0.size());
  ref.y.resize(y0.size());
  const float copy[4] = {0, 1, 0, 0};
  const int64_t full[2] = {DAG_SIDE, DAG_SIDE};
  const dag_ref whole{0, 0, {DAG_SIDE, 1}};
  std::vector<float> x0c = x0, y0c = y0;
  dag_view in = host_view(x0c, full, whole);
  dag_view out = host_view(ref.x, full, whole);
  dag_op(&out, 0, 1, &in, copy);
  in = host_view(y0c, full, whole);
  out = host_view(ref.y, full, whole);
  dag_op(&out, 0, 1, &in, copy);
  uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 7;
  for (uint32_t i = 0; i < tasks; ++i) {
    dag_task d;
    dag_make_task(&rng, &d);
    dag_view ins[2];
    for (int k = 0; k < d.nin; ++k)
      ins[k] = host_view(d.in[k].tensor ? ref.y : ref.x, d.shape, d.in[k]);
    const dag_view o = host_view(d.out.tensor ? ref.y : ref.x, d.shape, d.out);
    dag_op(&o, d.inout, d.nin, ins, d.coef);
  }
  return ref;
}

struct Case {
  const char* profile;
  RuntimeKind runtime;
  uint32_t ring_slots;
};
// ctest names print the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.profile << "_" << runtime_name(c.runtime) << "_ring" << c.ring_slots;
}

class RandomDagTest : public ::testing::TestWithParam<Case> {};

TEST_P(RandomDagTest, MatchesSequentialExecutionBitForBit) {
  WorkerOptions options;
  options.ring_slots = GetParam().ring_slots;
  Rig rig = make_rig(GetParam().profile, GetParam().runtime, options);
  const Bytes image = test_image("orch_random_dag.so", {{1, CoreType::aic, "kernel_dag_op.so"},
                                                        {2, CoreType::aiv, "kernel_dag_op.so"}});
  auto id = rig.worker->register_callable(image);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  const uint64_t before = rig.device->stats().live_bytes;
  const auto x0 = pattern(DAG_SIDE * DAG_SIDE, 11), y0 = pattern(DAG_SIDE * DAG_SIDE, 12);
  for (uint64_t seed : {1ull, 2ull, 3ull, 42ull, 1234ull, 99991ull}) {
    const uint32_t tasks = dag_task_count(seed);
    RunArgs args;
    args.tensors["x0"] = host_f32({DAG_SIDE, DAG_SIDE}, x0);
    args.tensors["y0"] = host_f32({DAG_SIDE, DAG_SIDE}, y0);
    args.scalars["seed"] = static_cast<double>(seed);
    auto report = rig.worker->run(*id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->tasks, tasks + 2u) << "seed " << seed;
    if (GetParam().runtime == RuntimeKind::tmr) {
      EXPECT_LE(report->peak_ring_occupancy, GetParam().ring_slots ? GetParam().ring_slots : 128u);
    }
    const Reference ref = sequential(seed, tasks, x0, y0);
    const HostTensor& x = report->outputs.at("x");
    const HostTensor& y = report->outputs.at("y");
    // The outputs are the reference's size and shape, so the comparisons below cover them whole
    // (an empty output would otherwise compare equal).
    ASSERT_EQ(x.data.size(), ref.x.size() * sizeof(float)) << "x, seed " << seed;
    ASSERT_EQ(y.data.size(), ref.y.size() * sizeof(float)) << "y, seed " << seed;
    EXPECT_EQ(x.shape, (std::vector<int64_t>{DAG_SIDE, DAG_SIDE})) << "x, seed " << seed;
    EXPECT_EQ(y.shape, (std::vector<int64_t>{DAG_SIDE, DAG_SIDE})) << "y, seed " << seed;
    EXPECT_EQ(std::memcmp(x.data.data(), ref.x.data(), x.data.size()), 0) << "x, seed " << seed;
    EXPECT_EQ(std::memcmp(y.data.data(), ref.y.data(), y.data.size()), 0) << "y, seed " << seed;
    // Kept between runs: hbg's graph and the worker's intermediate heap (tmr: always made).
    EXPECT_EQ(rig.device->stats().live_bytes - report->graph_cache_bytes -
                  rig.worker->stats().heap_bytes_reserved,
              before);
  }
  ASSERT_TRUE(rig.worker->unregister_callable(*id).ok());
}

INSTANTIATE_TEST_SUITE_P(Dags, RandomDagTest,
                         ::testing::Values(Case{"a2a3", RuntimeKind::tmr, 0},
                                           Case{"a5", RuntimeKind::tmr, 0},
                                           Case{"a2a3", RuntimeKind::tmr, 4},
                                           Case{"a2a3", RuntimeKind::hbg, 0},
                                           Case{"a5", RuntimeKind::hbg, 0}),
                         [](const auto& info) {
                           return std::string(info.param.profile) + "_" +
                                  std::string(runtime_name(info.param.runtime)) + "_ring" +
                                  std::to_string(info.param.ring_slots);
                         });

}  // namespace
}  // namespace chiprt::testing

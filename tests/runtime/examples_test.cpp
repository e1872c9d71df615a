// Every example against a plain reference loop (1e-5 relative), on both chip profiles and both
// runtimes, through ChipWorker::run; device memory after each run equals that before it.
#include <cmath>

#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

struct Case {
  const char* profile;
  RuntimeKind runtime;
};
// ctest names print the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.profile << "_" << runtime_name(c.runtime);
}

class ExamplesTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { rig_ = make_rig(GetParam().profile, GetParam().runtime); }

  // Registers `example`, runs it, and checks device bytes return to their pre-run value, besides
  // what the worker keeps between runs: hbg's cached graph and the intermediate heap it made.
  RunReport run(const std::string& example, const RunArgs& args) {
    auto id = rig_.worker->register_callable(example_image(example));
    EXPECT_TRUE(id.ok()) << id.status().to_string();
    const uint64_t before = rig_.device->stats().live_bytes;
    const uint64_t heaps_before = rig_.worker->stats().heap_bytes_reserved;
    auto report = rig_.worker->run(*id, args);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    const DeviceStats after = rig_.device->stats();
    EXPECT_EQ(after.tag(MemoryTag::tensor).live_bytes, 0u);
    const uint64_t heaps_made = rig_.worker->stats().heap_bytes_reserved - heaps_before;
    EXPECT_EQ(after.live_bytes - (report.ok() ? report->graph_cache_bytes : 0) - heaps_made,
              before);
    EXPECT_TRUE(rig_.worker->unregister_callable(*id).ok());
    return report.ok() ? std::move(report).value() : RunReport{};
  }

  Rig rig_;
};

TEST_P(ExamplesTest, VectorGives47ForTwoAndThree) {
  RunArgs args;
  args.tensors["a"] = host_f32({128, 1024}, std::vector<float>(128 * 1024, 2.0f));
  args.tensors["b"] = host_f32({128, 1024}, std::vector<float>(128 * 1024, 3.0f));
  const RunReport report = run("vector", args);
  EXPECT_EQ(report.tasks, 5u * 8u);
  const std::vector<float> f = floats(report.outputs.at("f"));
  ASSERT_EQ(f.size(), 128u * 1024u);
  for (float v : f) ASSERT_EQ(v, 47.0f);
}

TEST_P(ExamplesTest, VectorMatchesReferenceWithSmallTiles) {
  const size_t n = 3000;
  const auto a = pattern(n, 1), b = pattern(n, 2);
  RunArgs args;
  args.tensors["a"] = host_f32({3, 1000}, a);
  args.tensors["b"] = host_f32({3, 1000}, b);
  args.scalars["tile"] = 128;
  const RunReport report = run("vector", args);
  std::vector<float> want(n);
  for (size_t i = 0; i < n; ++i) {
    const float s = a[i] + b[i];
    want[i] = (s + 1) * (s + 2) + s;
  }
  expect_close(floats(report.outputs.at("f")), want);
  EXPECT_EQ(report.outputs.at("f").shape, (std::vector<int64_t>{3, 1000}));
}

TEST_P(ExamplesTest, MatmulMatchesReference) {
  const int64_t m = 96, k = 80, n = 72;
  const auto a = pattern(m * k, 3), b = pattern(k * n, 4), bias = pattern(n, 5);
  RunArgs args;
  args.tensors["a"] = host_f32({m, k}, a);
  args.tensors["b"] = host_f32({k, n}, b);
  args.tensors["bias"] = host_f32({n}, bias);
  args.scalars["tile"] = 32;
  const RunReport report = run("matmul", args);
  EXPECT_EQ(report.tasks, 3u * 3u * 3u + 3u * 3u);
  std::vector<float> want(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += double(a[i * k + p]) * b[p * n + j];
      want[i * n + j] = static_cast<float>(std::max(s + bias[j], 0.0));
    }
  }
  expect_close(floats(report.outputs.at("out")), want);
}

std::vector<float> softmax_ref(const std::vector<float>& x, int64_t rows, int64_t cols,
                               float scale) {
  std::vector<float> out(x.size());
  for (int64_t i = 0; i < rows; ++i) {
    double mx = -1e30, sum = 0;
    for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, double(scale) * x[i * cols + j]);
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(double(scale) * x[i * cols + j] - mx);
    for (int64_t j = 0; j < cols; ++j) {
      out[i * cols + j] = static_cast<float>(std::exp(double(scale) * x[i * cols + j] - mx) / sum);
    }
  }
  return out;
}

TEST_P(ExamplesTest, SoftmaxMatchesReference) {
  const int64_t rows = 50, cols = 33;
  auto x = pattern(rows * cols, 6);
  for (float& v : x) v *= 4;
  RunArgs args;
  args.tensors["x"] = host_f32({rows, cols}, x);
  args.scalars["tile"] = 8;
  const RunReport report = run("softmax", args);
  EXPECT_EQ(report.tasks, 7u);
  expect_close(floats(report.outputs.at("out")), softmax_ref(x, rows, cols, 1.0f));
}

TEST_P(ExamplesTest, AttentionMatchesReference) {
  const int64_t s = 40, t = 56, d = 16, dv = 24;
  const auto q = pattern(s * d, 7), k = pattern(t * d, 8), v = pattern(t * dv, 9);
  RunArgs args;
  args.tensors["q"] = host_f32({s, d}, q);
  args.tensors["k"] = host_f32({t, d}, k);
  args.tensors["v"] = host_f32({t, dv}, v);
  args.scalars["tile"] = 16;
  const RunReport report = run("attention", args);
  EXPECT_EQ(report.tasks, 3u * (4u + 1u + 4u));
  const float scale = 1.0f / std::sqrt(float(d));
  std::vector<float> scores(s * t);
  for (int64_t i = 0; i < s; ++i) {
    for (int64_t j = 0; j < t; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < d; ++p) acc += double(q[i * d + p]) * k[j * d + p];
      scores[i * t + j] = static_cast<float>(acc);
    }
  }
  const auto probs = softmax_ref(scores, s, t, scale);
  std::vector<float> want(s * dv);
  for (int64_t i = 0; i < s; ++i) {
    for (int64_t c = 0; c < dv; ++c) {
      double acc = 0;
      for (int64_t j = 0; j < t; ++j) acc += double(probs[i * t + j]) * v[j * dv + c];
      want[i * dv + c] = static_cast<float>(acc);
    }
  }
  expect_close(floats(report.outputs.at("out")), want);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, ExamplesTest,
    ::testing::Values(Case{"a2a3", RuntimeKind::tmr}, Case{"a5", RuntimeKind::tmr},
                      Case{"a2a3", RuntimeKind::hbg}, Case{"a5", RuntimeKind::hbg}),
    [](const auto& info) {
      return std::string(info.param.profile) + "_" + std::string(runtime_name(info.param.runtime));
    });

}  // namespace
}  // namespace chiprt::testing

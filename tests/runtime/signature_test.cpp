// A signed image's run arguments are checked against its signature before the orchestration
// starts, on both runtimes; unsigned images (and 1.0 images) run as before.
#include "registry/signature_check.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

// The probe (callables/orch_probe.c) with mode 1 and fail_at 0: its first kernel fails, so a
// run whose orchestration starts ends in kernel_failed, never in invalid_argument.
constexpr const char* kProbeSignature =
    "x:f32[1],mode:scalar,fail_at?:scalar,tasks?:scalar -> out:f32[1]";

Signature signature_of(const char* text) {
  auto parsed = parse_signature(text);
  EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
  return parsed.ok() ? *parsed : Signature{};
}

HostTensor x_f32(std::vector<int64_t> shape) {
  return host_f32(std::move(shape), std::vector<float>(64, 1.0f));
}

RunArgs failing_probe_args() {
  RunArgs args;
  args.tensors["x"] = x_f32({64});
  args.scalars["mode"] = 1;
  args.scalars["fail_at"] = 0;
  return args;
}

// The vector example packed again without its signature, as a 1.0 image when `minor_zero`.
Bytes unsigned_vector(bool minor_zero) {
  const Bytes signed_image = example_image("vector");
  auto view = ImageView::parse(signed_image);
  EXPECT_TRUE(view.ok()) << view.status().to_string();
  EXPECT_FALSE(view->signature().empty());
  ImageSource source{view->orchestration(), {}, "vector-unsigned"};
  for (const ImageChild& child : view->children()) {
    source.kernels.push_back({child.func_id, child.core, view->child_bytes(child)});
  }
  Bytes image = std::move(write_image(source)).value();
  if (minor_zero) {
    chiprt_image_header_t header;
    std::memcpy(&header, image.data(), sizeof header);
    header.version_minor = 0;  // not covered by the content hash
    std::memcpy(image.data(), &header, sizeof header);
  }
  return image;
}

class SignatureRunTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  void SetUp() override {
    rig_ = make_rig("a2a3", GetParam());
    auto id = rig_.worker->register_callable(
        test_image("orch_probe.so", {{1, CoreType::aiv, "kernel_probe.so"}}, "probe-signed",
                   signature_of(kProbeSignature)));
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    id_ = *id;
  }

  // Runs the signed probe with `args`: it must fail with invalid_argument naming `argument` and
  // `words`, and no run may have started (no tensor allocated, the run count unchanged).
  void expect_rejected(const RunArgs& args, const std::string& argument, const std::string& words) {
    const uint64_t runs = rig_.worker->stats().runs;
    const uint64_t tensors = rig_.device->stats().tag(MemoryTag::tensor).live_bytes;
    auto report = rig_.worker->run(id_, args);
    ASSERT_FALSE(report.ok());
    const Status& status = report.status();
    EXPECT_EQ(status.code(), StatusCode::invalid_argument) << status.to_string();
    EXPECT_NE(status.message().find("'" + argument + "'"), std::string_view::npos)
        << status.to_string();
    EXPECT_NE(status.message().find(words), std::string_view::npos) << status.to_string();
    EXPECT_EQ(status.message().find('\n'), std::string_view::npos);
    EXPECT_EQ(rig_.worker->stats().runs, runs);
    EXPECT_EQ(rig_.device->stats().tag(MemoryTag::tensor).live_bytes, tensors);
  }

  Rig rig_;
  CallableId id_{};
};

TEST_P(SignatureRunTest, MatchingArgumentsReachTheOrchestration) {
  auto report = rig_.worker->run(id_, failing_probe_args());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kernel_failed) << report.status().to_string();
  RunArgs passing = failing_probe_args();
  passing.scalars["mode"] = 0;
  passing.scalars.erase("fail_at");  // optional
  auto ok = rig_.worker->run(id_, passing);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(floats(ok->outputs.at("out")), std::vector<float>(64, 2.0f));
}

TEST_P(SignatureRunTest, MissingTensorIsNamedBeforeTheOrchestration) {
  RunArgs args = failing_probe_args();
  args.tensors.clear();
  expect_rejected(args, "x", "missing");
}

TEST_P(SignatureRunTest, MissingRequiredScalarIsNamed) {
  RunArgs args = failing_probe_args();
  args.scalars.erase("mode");  // the probe would default to mode 0 and succeed
  expect_rejected(args, "mode", "missing");
}

TEST_P(SignatureRunTest, WrongDtypeIsNamed) {
  RunArgs args = failing_probe_args();
  args.tensors["x"].dtype = CHIPRT_DTYPE_I32;
  expect_rejected(args, "x", "i32");
}

TEST_P(SignatureRunTest, WrongRankIsNamed) {
  RunArgs args = failing_probe_args();
  args.tensors["x"] = x_f32({8, 8});
  expect_rejected(args, "x", "rank 2");
}

TEST_P(SignatureRunTest, ExtraArgumentsAreNamed) {
  RunArgs tensor = failing_probe_args();
  tensor.tensors["y"] = x_f32({64});
  expect_rejected(tensor, "y", "extra");
  RunArgs scalar = failing_probe_args();
  scalar.scalars["tiles"] = 2;
  expect_rejected(scalar, "tiles", "extra");
  RunArgs output_as_input = failing_probe_args();
  output_as_input.tensors["out"] = x_f32({64});
  expect_rejected(output_as_input, "out", "output");
}

TEST_P(SignatureRunTest, DeviceTensorsAreCheckedToo) {
  auto wide = rig_.worker->to_device(x_f32({8, 8}));
  ASSERT_TRUE(wide.ok()) << wide.status().to_string();
  RunArgs input = failing_probe_args();
  input.tensors.erase("x");
  input.device_inputs["x"] = wide->ref();
  expect_rejected(input, "x", "rank 2");

  RunArgs output = failing_probe_args();
  output.device_outputs["out"] = wide->ref();
  expect_rejected(output, "out", "rank 2");
  RunArgs unknown = failing_probe_args();
  unknown.device_outputs["result"] = wide->ref();
  expect_rejected(unknown, "result", "extra");
}

TEST_P(SignatureRunTest, UnsignedAndVersionOneZeroImagesRunAsBefore) {
  for (const bool minor_zero : {false, true}) {
    const Bytes image = unsigned_vector(minor_zero);
    auto view = ImageView::parse(image);
    ASSERT_TRUE(view.ok()) << view.status().to_string();
    EXPECT_EQ(view->version_minor(), minor_zero ? 0u : CHIPRT_IMAGE_VERSION_MINOR);
    EXPECT_TRUE(view->signature().empty());
    auto id = rig_.worker->register_callable(image);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    RunArgs args;
    args.tensors["a"] = host_f32({64}, std::vector<float>(64, 2.0f));
    args.tensors["b"] = host_f32({64}, std::vector<float>(64, 3.0f));
    args.scalars["unused"] = 1;  // nothing says what the callable takes: ignored as before
    auto report = rig_.worker->run(*id, args);
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(floats(report->outputs.at("f")), std::vector<float>(64, 47.0f));
    // The unchecked orchestration itself rejects the missing tensor, as before.
    args.tensors.erase("b");
    auto missing = rig_.worker->run(*id, args);
    EXPECT_EQ(missing.status().code(), StatusCode::orchestration_failed)
        << missing.status().to_string();
  }
}

TEST_P(SignatureRunTest, SignedExampleNamesAMissingArgument) {
  auto id = rig_.worker->register_callable(example_image("matmul"));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  RunArgs args;
  args.tensors["a"] = host_f32({4, 4}, std::vector<float>(16, 1.0f));
  args.tensors["b"] = host_f32({4, 4}, std::vector<float>(16, 1.0f));
  auto report = rig_.worker->run(*id, args);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::invalid_argument);
  EXPECT_NE(report.status().message().find("missing tensor argument 'bias' (bias:f32[1])"),
            std::string_view::npos)
      << report.status().to_string();
}

// Both kinds of message name a signature kind: the run check with its article, the signature
// check by its bare word. Exact texts, written out here.
TEST(SignatureKindNames, RunArgumentsAndSignatureDefectsNameTheKind) {
  const Signature signature = signature_of(kProbeSignature);
  RunArgs scalar_as_tensor = failing_probe_args();
  scalar_as_tensor.tensors["mode"] = x_f32({64});
  EXPECT_EQ(registry::check_run_args(signature, scalar_as_tensor).message(),
            "tensor argument 'mode' is a scalar in the callable's signature (mode:scalar)");
  RunArgs tensor_as_scalar = failing_probe_args();
  tensor_as_scalar.scalars["x"] = 1;
  EXPECT_EQ(registry::check_run_args(signature, tensor_as_scalar).message(),
            "scalar argument 'x' is a tensor input in the callable's signature (x:f32[1])");
  RunArgs output_as_input = failing_probe_args();
  output_as_input.tensors["out"] = x_f32({64});
  EXPECT_EQ(registry::check_run_args(signature, output_as_input).message(),
            "tensor argument 'out' is an output in the callable's signature (out:f32[1])");

  Signature repeated = signature;  // five entries; a sixth repeats the first's name
  repeated.push_back(repeated.front());
  repeated.back().kind = SignatureKind::output;
  EXPECT_EQ(check_signature(repeated).message(), "signature output 5 repeats the name 'x'");
  repeated.back().kind = SignatureKind::scalar;
  repeated.back().dtype = 0;
  repeated.back().rank = 0;
  EXPECT_EQ(check_signature(repeated).message(), "signature scalar 5 repeats the name 'x'");
  repeated.back().kind = SignatureKind::input;
  repeated.back().rank = 1;
  EXPECT_EQ(check_signature(repeated).message(), "signature input 5 repeats the name 'x'");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, SignatureRunTest,
                         ::testing::Values(RuntimeKind::tmr, RuntimeKind::hbg),
                         [](const ::testing::TestParamInfo<RuntimeKind>& info) {
                           return std::string(runtime_name(info.param));
                         });

}  // namespace
}  // namespace chiprt::testing

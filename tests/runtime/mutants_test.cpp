// Code mutants past the hash (I11, I13): every packed example with a few bits of its code
// objects flipped and its content hash recomputed, so that each mutant passes the hash check and
// reaches the ELF checks and the loaders (in the device process, and on hbg in the orchestration
// sandbox). Registered and run on both runtimes, a mutant either works or fails with a status:
// the host never crashes or hangs, and afterwards the device is back to its baseline and the
// unmutated example still runs exactly. Seeded: a failure names the seed and mutant index.
#include <cstdlib>
#include <random>

#include "format/image_layout.h"
#include "runtime_test_util.h"

namespace chiprt::testing {
namespace {

// Mutants per example and runtime; CHIPRT_MUTANTS overrides (a sanitizer build may take fewer).
size_t mutant_count() {
  if (const char* n = std::getenv("CHIPRT_MUTANTS"); n && *n) return std::strtoul(n, nullptr, 10);
  return 1000;
}

// Arguments each example runs on: small, valid shapes.
RunArgs example_args(const std::string& example) {
  RunArgs args;
  auto filled = [](std::vector<int64_t> shape, float value) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    return host_f32(std::move(shape), std::vector<float>(n, value));
  };
  if (example == "vector") {
    args.tensors["a"] = filled({16, 64}, 2.0f);
    args.tensors["b"] = filled({16, 64}, 3.0f);
  } else if (example == "matmul") {
    args.tensors["a"] = filled({32, 16}, 1.0f);
    args.tensors["b"] = filled({16, 32}, 1.0f);
    args.tensors["bias"] = filled({32}, 0.5f);
  } else if (example == "softmax") {
    args.tensors["x"] = filled({16, 32}, 1.0f);
  } else if (example == "attention") {
    args.tensors["q"] = filled({16, 8}, 0.1f);
    args.tensors["k"] = filled({16, 8}, 0.2f);
    args.tensors["v"] = filled({16, 8}, 0.3f);
  } else if (example == "layered_dag") {
    args.tensors["t"] = filled({5, 8}, 1.0f);
    args.scalars["layers"] = 4;
    args.scalars["width"] = 8;
  } else {  // tiled_wavefront
    args.tensors["t"] = filled({16, 16}, 1.0f);
    args.scalars["tiles"] = 4;
    args.scalars["sweeps"] = 1;
  }
  return args;
}

// A few bits flipped inside the code objects (the orchestration starts storage; kernels
// follow), then the content hash recomputed over every byte after it.
Bytes mutant(const Bytes& image, std::mt19937_64& random) {
  Bytes out = image;
  const auto* header = reinterpret_cast<const chiprt_image_header_t*>(image.data());
  const uint64_t from = header->orch_offset;
  std::uniform_int_distribution<uint64_t> where(from, out.size() - 1);
  std::uniform_int_distribution<int> flips(1, 8), bit(0, 7);
  for (int i = flips(random); i > 0; --i) out[where(random)] ^= std::byte(1u << bit(random));
  auto* patched = reinterpret_cast<chiprt_image_header_t*>(out.data());
  format::store_hash(patched->content_hash, format::content_hash_of(out));
  return out;
}

struct MutantCase {
  std::string example;
  RuntimeKind runtime;
};

void PrintTo(const MutantCase& c, std::ostream* os) {
  *os << c.example << "_" << runtime_name(c.runtime);
}

class CodeMutantTest : public ::testing::TestWithParam<MutantCase> {};

TEST_P(CodeMutantTest, EveryMutantRunsOrFailsWithAStatus) {
  const MutantCase& c = GetParam();
  WorkerOptions options;
  options.stall_timeout = std::chrono::seconds(2);
  options.run_timeout = std::chrono::seconds(10);
  options.heap_bytes = 4 << 20;
  Rig rig = make_rig("a2a3", c.runtime, options, 256ull << 20);
  const uint64_t baseline = rig.device->stats().live_bytes;
  const Bytes image = example_image(c.example);
  const RunArgs args = example_args(c.example);
  const uint64_t seed = std::hash<std::string>{}(c.example) ^ static_cast<uint64_t>(c.runtime);
  std::mt19937_64 random(seed);
  size_t registered = 0, ran = 0, losses = 0;
  for (size_t i = 0; i < mutant_count(); ++i) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << ", mutant " << i);
    const Bytes bytes = mutant(image, random);
    auto id = rig.worker->register_callable(bytes);
    if (id.ok()) {
      ++registered;
      auto report = rig.worker->run(*id, args);
      ran += report.ok();
      (void)rig.worker->unregister_callable(*id);
    }
    if (!rig.device->health().ok()) {
      ++losses;
      ASSERT_TRUE(rig.worker->reset().ok());
    }
  }
  // Nothing a mutant did stays: device memory is the baseline plus the worker's heaps, and the
  // example itself still runs (its first output checked against a run of the same bytes on a
  // fresh worker).
  EXPECT_EQ(rig.device->stats().live_bytes, baseline + rig.worker->stats().heap_bytes_reserved);
  const CallableId id = *rig.worker->register_callable(image);
  auto healthy = rig.worker->run(id, args);
  ASSERT_TRUE(healthy.ok()) << healthy.status().to_string();
  Rig fresh = make_rig("a2a3", c.runtime, options, 256ull << 20);
  auto reference = fresh.worker->run(*fresh.worker->register_callable(image), args);
  ASSERT_TRUE(reference.ok()) << reference.status().to_string();
  ASSERT_EQ(healthy->outputs.size(), reference->outputs.size());
  for (const auto& [name, tensor] : reference->outputs) {
    EXPECT_EQ(healthy->outputs.at(name).data, tensor.data) << name;
  }
  RecordProperty("registered", static_cast<int>(registered));
  RecordProperty("ran", static_cast<int>(ran));
  RecordProperty("device_losses", static_cast<int>(losses));
}

std::vector<MutantCase> mutant_cases() {
  std::vector<MutantCase> out;
  for (const char* example :
       {"vector", "matmul", "softmax", "attention", "layered_dag", "tiled_wavefront"}) {
    for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) out.push_back({example, rt});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Containment, CodeMutantTest, ::testing::ValuesIn(mutant_cases()),
                         [](const ::testing::TestParamInfo<MutantCase>& info) {
                           return info.param.example + "_" +
                                  std::string(runtime_name(info.param.runtime));
                         });

}  // namespace
}  // namespace chiprt::testing

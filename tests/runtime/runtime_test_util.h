// Helpers shared by the runtime tests: workers on each chip profile and runtime, example and
// test images, host tensors.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "chiprt/image.h"
#include "chiprt/worker.h"

namespace chiprt {
// Test names and failure messages say "tmr" / "hbg", not the enum's bytes.
inline void PrintTo(RuntimeKind runtime, std::ostream* os) {
  *os << runtime_name(runtime);
}
}  // namespace chiprt

namespace chiprt::testing {

inline Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// A packed example image of this build (examples/NAME.chipimg).
inline Bytes example_image(const std::string& name) {
  return read_bytes(std::filesystem::path(CHIPRT_EXAMPLES_DIR) / (name + ".chipimg"));
}

// Packs a test callable from the test .so directory: orch_NAME.so plus kernels.
struct TestKernel {
  uint32_t func_id;
  CoreType core;
  std::string so;    // file name in the test .so directory
  std::string name;  // kernel name; all kernels of an image are named, or none
};
inline Bytes test_image(const std::string& orch, const std::vector<TestKernel>& kernels,
                        const std::string& name = "test", const Signature& signature = {}) {
  const std::filesystem::path dir(CHIPRT_TEST_SO_DIR);
  std::vector<Bytes> blobs;
  blobs.push_back(read_bytes(dir / orch));
  for (const TestKernel& k : kernels) blobs.push_back(read_bytes(dir / k.so));
  ImageSource source;
  source.orchestration = blobs[0];
  source.name = name;
  source.signature = signature;
  for (size_t i = 0; i < kernels.size(); ++i) {
    source.kernels.push_back({kernels[i].func_id, kernels[i].core, blobs[i + 1], kernels[i].name});
  }
  auto image = write_image(source);
  EXPECT_TRUE(image.ok()) << image.status().to_string();
  return image.ok() ? std::move(image).value() : Bytes{};
}

struct Rig {
  std::shared_ptr<Device> device;
  std::unique_ptr<ChipWorker> worker;
};

inline Rig make_rig(const std::string& profile, RuntimeKind runtime, WorkerOptions options = {},
                    uint64_t capacity = 1ull << 30) {
  auto p = chip_profile(profile);
  EXPECT_TRUE(p.ok());
  Rig rig;
  rig.device = create_sim_chip(*p, capacity);
  options.runtime = runtime;
  auto worker = ChipWorker::create(rig.device, options);
  EXPECT_TRUE(worker.ok()) << worker.status().to_string();
  rig.worker = std::move(worker).value();
  return rig;
}

// CPU time (user + system) of every thread of process `pid`, from /proc/PID/task/*/stat: the
// device process's cores run there, where CLOCK_PROCESS_CPUTIME_ID of the host cannot see them.
inline double process_cpu_seconds(pid_t pid) {
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  uint64_t ticks = 0;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "stat");
    std::string line;
    std::getline(in, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    // Fields 3.. after the name: state is 3, utime 14, stime 15.
    for (int i = 3; i <= 13 && rest >> field; ++i) {
    }
    uint64_t utime = 0, stime = 0;
    rest >> utime >> stime;
    ticks += utime + stime;
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline HostTensor host_f32(std::vector<int64_t> shape, const std::vector<float>& values) {
  HostTensor t;
  t.dtype = CHIPRT_DTYPE_F32;
  t.shape = std::move(shape);
  t.data.resize(values.size() * sizeof(float));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

inline std::vector<float> floats(const HostTensor& t) {
  std::vector<float> out(t.data.size() / sizeof(float));
  std::memcpy(out.data(), t.data.data(), out.size() * sizeof(float));
  return out;
}

// Relative comparison with tolerance 1e-5 (absolute near zero).
inline void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                         double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double scale = std::max(1.0, std::abs(static_cast<double>(want[i])));
    if (std::abs(static_cast<double>(got[i]) - want[i]) > tol * scale) {
      if (++bad <= 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << " want " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u);
}

inline std::vector<float> pattern(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (float& f : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    f = static_cast<float>(x % 2001) / 1000.0f - 1.0f;
  }
  return v;
}

inline const char* kProfiles[] = {"a2a3", "a5"};

}  // namespace chiprt::testing

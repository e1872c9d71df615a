// Registers the vector example image (argv[1]) on a simulated chip, runs it with a = 2 and
// b = 3 (128 x 1024 float32) and checks that every element of the output f is
// (a+b+1)*(a+b+2)+(a+b) = 47. Prints one line; exit 0 on success, 1 otherwise.
#include <chiprt/device.h>
#include <chiprt/worker.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "chiprt_consumer: %s\n", what.c_str());
  return 1;
}

chiprt::HostTensor filled(int64_t rows, int64_t cols, float value) {
  chiprt::HostTensor t{CHIPRT_DTYPE_F32, {rows, cols}, chiprt::Bytes(rows * cols * sizeof(float))};
  for (int64_t i = 0; i < rows * cols; ++i)
    std::memcpy(t.data.data() + i * sizeof(float), &value, sizeof(float));
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: chiprt_consumer VECTOR.chipimg");
#ifdef CHIPRT_CONSUMER_DEVICE
  setenv("CHIPRT_DEVICE_EXECUTABLE", CHIPRT_CONSUMER_DEVICE, /*overwrite=*/0);
#endif
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) return fail(std::string("cannot read ") + argv[1]);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  chiprt::Bytes image(text.size());
  std::memcpy(image.data(), text.data(), text.size());

  auto profile = chiprt::chip_profile("a2a3");
  if (!profile.ok()) return fail(profile.status().to_string());
  auto device = chiprt::create_sim_chip(profile.value(), 1ull << 30);
  if (!device) return fail("cannot create the simulated chip");
  auto worker = chiprt::ChipWorker::create(device);
  if (!worker.ok()) return fail(worker.status().to_string());
  auto id = worker.value()->register_callable(image);
  if (!id.ok()) return fail(id.status().to_string());

  constexpr int64_t kRows = 128, kCols = 1024;
  chiprt::RunArgs args;
  args.tensors.emplace("a", filled(kRows, kCols, 2.0f));
  args.tensors.emplace("b", filled(kRows, kCols, 3.0f));
  auto report = worker.value()->run(id.value(), args);
  if (!report.ok()) return fail(report.status().to_string());

  auto f = report.value().outputs.find("f");
  if (f == report.value().outputs.end()) return fail("the run made no output f");
  const uint64_t n = static_cast<uint64_t>(kRows * kCols);
  if (f->second.element_count() != n || f->second.data.size() != n * sizeof(float)) {
    return fail("output f has the wrong size");
  }
  for (uint64_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, f->second.data.data() + i * sizeof(float), sizeof(float));
    if (v != 47.0f)
      return fail("f[" + std::to_string(i) + "] = " + std::to_string(v) + ", expected 47");
  }
  if (auto s = worker.value()->unregister_callable(id.value()); !s.ok()) return fail(s.to_string());
  std::printf("chiprt_consumer: vector f = 47 in all %llu elements (%llu tasks)\n",
              static_cast<unsigned long long>(n),
              static_cast<unsigned long long>(report.value().tasks));
  return 0;
}

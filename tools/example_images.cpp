#include "example_images.h"

#include <fmt/format.h>

#include <cstring>

#include "cli_common.h"

namespace chiprt::cli {

Result<ExampleParts> load_vector_parts(const std::filesystem::path& dir) {
  ExampleParts parts;
  CHIPRT_ASSIGN_OR_RETURN(parts.orchestration, read_file(dir / "orch_vector.so"));
  const std::pair<uint32_t, const char*> kernels[] = {
      {1, "kernel_add.so"}, {2, "kernel_add_scalar.so"}, {3, "kernel_mul.so"}};
  for (const auto& [func_id, file] : kernels) {
    CHIPRT_ASSIGN_OR_RETURN(Bytes bytes, read_file(dir / file));
    parts.kernels.push_back({KernelSource{func_id, CoreType::aiv, {}}, std::move(bytes)});
  }
  return parts;
}

Result<std::vector<Bytes>> make_distinct_images(const ExampleParts& parts, size_t count,
                                                const std::string& prefix) {
  ImageSource source{parts.orchestration, {}, {}};
  for (const auto& [kernel, bytes] : parts.kernels) {
    source.kernels.push_back({kernel.func_id, kernel.core, bytes});
  }
  std::vector<Bytes> images;
  images.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    source.name = fmt::format("{}-{}", prefix, i);
    CHIPRT_ASSIGN_OR_RETURN(Bytes image, write_image(source));
    images.push_back(std::move(image));
  }
  return images;
}

RunArgs vector_run_args(int64_t rows, int64_t cols) {
  RunArgs args;
  for (auto [name, value] : {std::pair{"a", 2.0f}, std::pair{"b", 3.0f}}) {
    HostTensor t{CHIPRT_DTYPE_F32, {rows, cols}, Bytes(rows * cols * sizeof(float))};
    for (int64_t i = 0; i < rows * cols; ++i) std::memcpy(t.data.data() + i * 4, &value, 4);
    args.tensors.emplace(name, std::move(t));
  }
  return args;
}

bool is_vector_golden(const RunReport& report, uint64_t elements) {
  auto it = report.outputs.find("f");
  if (it == report.outputs.end() || it->second.element_count() != elements ||
      it->second.data.size() != elements * sizeof(float)) {
    return false;
  }
  for (uint64_t i = 0; i < elements; ++i) {
    float v;
    std::memcpy(&v, it->second.data.data() + i * 4, 4);
    if (v != 47.0f) return false;
  }
  return true;
}

}  // namespace chiprt::cli

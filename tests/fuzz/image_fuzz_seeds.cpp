// Writes small synthesized seed images for image_fuzz into the directory given as argv[1]:
// minimal ELF stand-ins (see support/image_bytes.h) packed with zero, one and several kernels,
// with and without kernel names (a kernel-name table), so that the fuzzer starts from valid
// images a few hundred bytes long.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "chiprt/image.h"
#include "support/image_bytes.h"

int main(int argc, char** argv) {
  using namespace chiprt;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  const Bytes orchestration = test::minimal_shared_object(320, 0x11);
  const Bytes kernel_small = test::minimal_shared_object(260, 0x22);
  const Bytes kernel_large = test::minimal_shared_object(400, 0x00);
  const std::vector<ImageSource> sources = {
      {orchestration, {}, "seed-no-kernels"},
      {orchestration, {{1, CoreType::aiv, kernel_small}}, "seed-one-kernel"},
      {orchestration,
       {{7, CoreType::aic, kernel_large},
        {2, CoreType::aiv, kernel_small},
        {9, CoreType::aiv, kernel_small}},
       "seed-three-kernels"},
      {kernel_small, {{0, CoreType::aic, orchestration}}, ""},
      {orchestration, {{1, CoreType::aiv, kernel_small, "k"}}, "seed-one-named-kernel"},
      {orchestration,
       {{7, CoreType::aic, kernel_large, "matmul"},
        {2, CoreType::aiv, kernel_small, "add.v2"},
        {9, CoreType::aiv, kernel_small, "add.v2"}},
       "seed-three-named-kernels",
       *parse_signature("a:f32[2],tile?:scalar -> f:f32[*]")},
  };
  for (size_t i = 0; i < sources.size(); ++i) {
    Result<Bytes> image = write_image(sources[i]);
    if (!image.ok() || !ImageView::parse(*image).ok()) {
      std::fprintf(stderr, "seed %zu is not a valid image\n", i);
      return 1;
    }
    std::ofstream(out / ("synthetic-" + std::to_string(i) + ".chipimg"), std::ios::binary)
        .write(reinterpret_cast<const char*>(image->data()),
               static_cast<std::streamsize>(image->size()));
  }
  return 0;
}

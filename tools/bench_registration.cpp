#include "bench_registration.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/worker.h"
#include "example_images.h"

namespace chiprt::cli {
namespace {

constexpr uint64_t kImageBytes = 1ull << 20;

// Places code without loading it, so placement and loading can be timed apart.
class NoLoadLoader final : public CodeLoader {
  struct Nothing final : LoadedCode {
    void* entry() const override { return const_cast<Nothing*>(this); }
    void* symbol(const char*) const override { return nullptr; }
  };

 public:
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan, const char*) override {
    return std::unique_ptr<LoadedCode>(std::make_unique<Nothing>());
  }
};

// The floor of loading: memfd + write + dlopen + dlsym + dlclose, nothing else.
void bare_load(ByteSpan so, const char* symbol) {
  const int fd = memfd_create("bench", MFD_CLOEXEC);
  if (write(fd, so.data(), so.size()) != static_cast<ssize_t>(so.size())) std::abort();
  const std::string path = fmt::format("/proc/self/fd/{}", fd);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr || dlsym(handle, symbol) == nullptr) std::abort();
  dlclose(handle);
  close(fd);
}

}  // namespace

// The last kernel is padded with trailing zeros: ELF loaders ignore bytes past the segments.
Result<std::vector<Bytes>> one_mib_images(const std::filesystem::path& examples, size_t count) {
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(examples));
  uint64_t used = parts.orchestration.size() + 4096;
  for (const auto& [source, bytes] : parts.kernels) used += bytes.size();
  parts.kernels.back().second.resize(parts.kernels.back().second.size() + kImageBytes - used);
  return make_distinct_images(parts, count, "bench");
}

std::shared_ptr<CodeLoader> no_load_loader() {
  return std::make_shared<NoLoadLoader>();
}

Result<std::vector<BenchResult>> bench_registration(const std::filesystem::path& examples,
                                                    size_t iterations) {
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images, one_mib_images(examples, iterations));
  CHIPRT_ASSIGN_OR_RETURN(ChipProfile profile, chip_profile("a2a3"));
  auto device = create_sim_chip(profile, 256ull << 20);
  WorkerOptions placing;
  placing.loader = no_load_loader();
  CHIPRT_ASSIGN_OR_RETURN(auto placer, ChipWorker::create(device, placing));
  // Without the code cache: every sample loads the new image's code.
  WorkerOptions loading;
  loading.code_cache_entries = 0;
  CHIPRT_ASSIGN_OR_RETURN(auto loader, ChipWorker::create(device, loading));
  Status failure;
  auto keep = [&](const Status& s) {
    if (!s.ok() && failure.ok()) failure = s;
  };
  const size_t n = images.size();
  std::vector<BenchResult> results;

  // Floor of a new registration: one copy of the bytes and one XXH3-128 over them. No warm-up
  // pair: every sample must place an image the worker has not seen.
  Bytes scratch(images[0].size());
  auto copy_and_hash = [&](size_t i) {
    return timed_us([&] {
      std::memcpy(scratch.data(), images[i].data(), images[i].size());
      ImageHash h = hash_bytes(images[i]);
      asm volatile("" : : "r"(&h), "r"(scratch.data()) : "memory");
    });
  };
  const PairedSamples placement = interleave(
      n,
      [&](size_t i) {
        return timed_us([&] {
          auto id = placer->register_callable(images[i]);
          keep(id.status());
          if (id.ok()) keep(placer->unregister_callable(*id));
        });
      },
      copy_and_hash, 0);
  CHIPRT_ASSIGN_OR_RETURN(const std::vector<double> copy_and_hash_alone,
                          sample_alone(*device, n, copy_and_hash));
  results.push_back(BenchResult::from("register new 1 MiB image (placement)", "memcpy + XXH3-128",
                                      "us", placement, 1.3)
                        .with_floor_alone(copy_and_hash_alone));

  // Loads: registration with real loads minus placement (both of the same image, in the same
  // pair), against bare memfd+dlopen+dlsym.
  CHIPRT_ASSIGN_OR_RETURN(ImageView view, ImageView::parse(images[0]));
  auto bare_loads = [&](size_t) {
    return timed_us([&] {
      bare_load(view.orchestration(), CHIPRT_ORCH_ENTRY_SYMBOL);
      for (const ImageChild& child : view.children()) {
        bare_load(view.child_bytes(child), CHIPRT_KERNEL_ENTRY_SYMBOL);
      }
    });
  };
  const PairedSamples loads = interleave(
      n,
      [&](size_t i) {
        const double place_us = timed_us([&] {
          auto id = placer->register_callable(images[i]);
          keep(id.status());
          if (id.ok()) keep(placer->unregister_callable(*id));
        });
        const double full_us = timed_us([&] {
          auto id = loader->register_callable(images[i]);
          keep(id.status());
          if (id.ok()) keep(loader->unregister_callable(*id));
        });
        return full_us - place_us;
      },
      bare_loads, 0);
  CHIPRT_ASSIGN_OR_RETURN(const std::vector<double> bare_loads_alone,
                          sample_alone(*device, n, bare_loads));
  results.push_back(BenchResult::from("code loads of a new image", "bare memfd + dlopen + dlsym",
                                      "us", loads, 1.2)
                        .with_floor_alone(bare_loads_alone));

  // Duplicate: hash, find, confirm byte for byte; the floor is XXH3-128 + memcmp.
  auto held = loader->register_callable(images[0]);
  if (!held.ok()) return std::move(held).status();
  Bytes copy = images[0];
  auto hash_and_compare = [&](size_t) {
    return timed_us([&] {
      ImageHash h = hash_bytes(copy);
      int same = std::memcmp(copy.data(), images[0].data(), copy.size());
      asm volatile("" : : "r"(&h), "r"(same) : "memory");
    });
  };
  const PairedSamples duplicate = interleave(
      n,
      [&](size_t) {
        return timed_us([&] {
          auto id = loader->register_callable(copy);
          keep(id.status());
          if (id.ok()) keep(loader->unregister_callable(*id));
        });
      },
      hash_and_compare);
  keep(loader->unregister_callable(*held));
  CHIPRT_ASSIGN_OR_RETURN(const std::vector<double> hash_and_compare_alone,
                          sample_alone(*device, n, hash_and_compare));
  results.push_back(BenchResult::from("duplicate register of a 1 MiB image", "XXH3-128 + memcmp",
                                      "us", duplicate, 1.3)
                        .with_floor_alone(hash_and_compare_alone));
  if (!failure.ok()) return failure;
  return results;
}

}  // namespace chiprt::cli

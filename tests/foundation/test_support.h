// Shared helpers of the foundation tests: build outputs (example and fixture shared objects),
// image construction, backends (SimChip a2a3/a5 and the null device), device-memory inspection,
// loaders that count what they load, filesystem watches, and running the CLI.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "chiprt/image.h"
#include "chiprt/worker.h"

namespace chiprt::test {

// ---- Fixture shared objects (tests/fixtures) and their markers (fixture_code.c) ----------------
inline constexpr int kOrchAMarker = 1001;
inline constexpr int kOrchBMarker = 1002;
inline constexpr int kNoEntryMarker = 1003;
inline constexpr int kKernelAMarker = 2001;
inline constexpr int kKernelBMarker = 2002;
inline constexpr const char* kMarkerSymbol = "chiprt_test_identity";

// Bytes of a build output, read once per process and cached.
const Bytes& fixture_so(std::string_view file);  // e.g. "fixture_orch_a.so"
const Bytes& example_so(std::string_view file);  // e.g. "orch_vector.so"
Bytes read_file_bytes(const std::filesystem::path& path);

// The marker of the fixture code a registration serves, observed by running it on the device
// (fixture_code.c): the orchestration's, or that of the kernel a probe task names. -1 when the
// run does not end in a marker.
int orchestration_marker(ChipWorker& worker, CallableId id);
int kernel_marker(ChipWorker& worker, CallableId id, const KernelInfo& kernel);

// ---- Images ----------------------------------------------------------------------------------
struct KernelPart {
  uint32_t func_id;
  CoreType core;
  const Bytes* shared_object;  // borrowed
  std::string name = {};       // KernelSource::name
};
// ImageView::parse of a valid image; throws (failing the test) on an error.
ImageView parse_ok(ByteSpan image);
// write_image, failing the test on error.
Bytes make_image(const Bytes& orchestration, const std::vector<KernelPart>& kernels,
                 const std::string& name = "", const Signature& signature = {});
// The vector example: orch_vector.so with kernels 1 add, 2 add_scalar, 3 mul (all AIV), without
// a signature; signed_vector_image adds the one examples/CMakeLists.txt packs it with.
Bytes vector_image(const std::string& name = "vector");
inline constexpr const char* kVectorSignature = "a:f32[*],b:f32[*],tile?:scalar -> f:f32[*]";
Bytes signed_vector_image(const std::string& name = "vector");
// signed_vector_image with kernel names (format 1.2): each file's stem, as `chiprt pack` names
// them by default ("kernel_add", "kernel_add_scalar", "kernel_mul"); so the build's packed
// example, examples/vector.chipimg, is named_vector_image("vector").
Bytes named_vector_image(const std::string& name = "vector");
// The vector example as a version 1.1 image (before kernel names), built byte by byte from the
// format header, independently of write_image: header, child table, orchestration, kernels at
// 64-byte offsets, the field now kernel_names_size (then reserved0) zero, no signature.
Bytes version_1_1_vector_image(const std::string& name = "vector");
// `count` distinct vector images of identical size, named "<prefix>-<i>" (zero-padded).
std::vector<Bytes> distinct_vector_images(size_t count, const std::string& prefix = "distinct");
// Fixture image A: orchestration A, func 1 (AIC) kernel A, func 2 (AIV) kernel B.
// Fixture image B: orchestration B, func 1 (AIC) kernel B, func 2 (AIV) kernel A.
Bytes fixture_image_a(const std::string& name = "fixture");
Bytes fixture_image_b(const std::string& name = "fixture");

// A copy of some bytes in pages mapped read-only: any write to them crashes the test.
class ReadOnlyCopy {
 public:
  explicit ReadOnlyCopy(ByteSpan bytes);
  ~ReadOnlyCopy();
  ReadOnlyCopy(const ReadOnlyCopy&) = delete;
  ReadOnlyCopy& operator=(const ReadOnlyCopy&) = delete;
  ByteSpan bytes() const { return {static_cast<const std::byte*>(mapping_), size_}; }

 private:
  void* mapping_;
  size_t size_;
};

// ---- Callable ids ----------------------------------------------------------------------------
// The id of `slot` at `generation`, spelled out from worker.h's documented encoding (generation
// in the high 32 bits, slot in the low 32), not taken from the code under test.
constexpr CallableId id_at(uint64_t slot, uint64_t generation) {
  return (generation << 32) | slot;
}

// ---- Backends --------------------------------------------------------------------------------
enum class Backend { a2a3, a5, null_device };
std::string backend_name(Backend backend);
inline constexpr Backend kSimChips[] = {Backend::a2a3, Backend::a5};
inline constexpr uint64_t kDefaultCapacity = 256ull << 20;
std::shared_ptr<Device> make_device(Backend backend, uint64_t capacity = kDefaultCapacity);
std::unique_ptr<ChipWorker> make_worker(std::shared_ptr<Device> device, WorkerOptions options = {});
// gtest parameter names: "a2a3", "a5", "null_device"; PrintTo keeps ctest names readable.
std::string backend_param_name(const testing::TestParamInfo<Backend>& info);
void PrintTo(Backend backend, std::ostream* os);

// ---- Device inspection -----------------------------------------------------------------------
Bytes read_device(const Device& device, DeviceAddr addr, uint64_t size);
// Every live allocation of a SimChip, as (address, bytes): found by probing each granule.
struct LiveSegment {
  DeviceAddr addr;
  Bytes bytes;
};
std::vector<LiveSegment> live_device_memory(Device& device);
// Bytes `image` occupies once placed on `runtime`, and that rounded up to the documented 512-byte
// granularity, derived from the image's header fields alone (never from the code that sizes
// placements): tmr holds the whole image; hbg the header (everything before the orchestration)
// and the kernels (from the first child's offset to the end).
uint64_t placed_bytes(const Bytes& image, RuntimeKind runtime);
uint64_t placed_allocation(const Bytes& image, RuntimeKind runtime);

// Non-overlapping occurrences of `needle` in all live device memory.
size_t count_in_live_device_memory(Device& device, ByteSpan needle);
// Live bytes and live allocations tagged `callable`.
uint64_t callable_live_bytes(const Device& device);
uint64_t callable_live_allocations(const Device& device);

// ---- Loaders ---------------------------------------------------------------------------------
// Wraps a loader and counts load() calls, successful loads, and LoadedCode objects alive, and
// records where the bytes of each load() came from.
// The loads a worker of `runtime` makes, through one loader (so that a test can count or fail
// every one): on hbg, orchestrations go to an orchestration sandbox of its own and everything
// else to `device`; on tmr, everything goes to `device`. Pass it as both WorkerOptions::loader
// and WorkerOptions::orchestration_loader. The device's code cache within `cache`: by default
// none, so that every last unregister unloads its code (code_cache_test.cpp tests the cache).
std::shared_ptr<CodeLoader> worker_loader(Device& device, RuntimeKind runtime,
                                          const CodeCacheBounds& cache = CodeCacheBounds{0, 0});

class CountingLoader final : public CodeLoader {
 public:
  explicit CountingLoader(std::shared_ptr<CodeLoader> inner) : inner_(std::move(inner)) {}
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override;
  uint64_t calls() const { return calls_; }
  uint64_t successes() const { return successes_; }
  int64_t alive() const { return *alive_; }
  // (address, size) of the bytes handed to each load() call, in call order.
  std::vector<std::pair<const std::byte*, size_t>> sources() const;

 private:
  std::shared_ptr<CodeLoader> inner_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> successes_{0};
  std::shared_ptr<std::atomic<int64_t>> alive_ = std::make_shared<std::atomic<int64_t>>(0);
  mutable std::mutex mutex_;
  std::vector<std::pair<const std::byte*, size_t>> sources_;
};

// ---- Files -----------------------------------------------------------------------------------
std::set<std::string> directory_entries(const std::filesystem::path& dir);
// A fresh empty directory under the temp directory, removed with its contents on destruction.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Watches a directory (inotify) for files created in it, even ones deleted right after.
class CreationWatch {
 public:
  explicit CreationWatch(const std::filesystem::path& dir);
  ~CreationWatch();
  CreationWatch(const CreationWatch&) = delete;
  CreationWatch& operator=(const CreationWatch&) = delete;
  // Names created (or moved in) since construction.
  std::vector<std::string> created();

 private:
  int fd_ = -1;
  std::vector<std::string> seen_;
};

// Points TMPDIR at a fresh empty directory for its lifetime; restores it and removes the
// directory on destruction. created() lists what was created in it, even if since deleted.
class ScopedEmptyTmpdir {
 public:
  ScopedEmptyTmpdir();
  ~ScopedEmptyTmpdir();
  ScopedEmptyTmpdir(const ScopedEmptyTmpdir&) = delete;
  ScopedEmptyTmpdir& operator=(const ScopedEmptyTmpdir&) = delete;
  const std::filesystem::path& path() const { return dir_.path(); }
  std::vector<std::string> created() { return watch_.created(); }

 private:
  ScopedTempDir dir_;
  CreationWatch watch_{dir_.path()};
  std::optional<std::string> previous_;
};
// Targets of the open file descriptors of process `pid` (0: this one) that are not memfds,
// sockets, pipes or anonymous inodes, i.e. named files; fds below `first_fd` are skipped (a
// child's inherited standard streams).
std::set<std::string> open_named_files(pid_t pid = 0, int first_fd = 0);

// A test fixture base that runs every test with TMPDIR set to a fresh empty directory and
// fails the test if anything was ever created in it.
class NoFilesTest : public testing::Test {
 protected:
  void TearDown() override;
  ScopedEmptyTmpdir tmpdir_;
};
template <typename Param>
class NoFilesTestWithParam : public NoFilesTest, public testing::WithParamInterface<Param> {};

// ---- CLI -------------------------------------------------------------------------------------
struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs the built `chiprt` CLI with `args` (already shell-quoted); with `timeout_s` > 0 it is
// killed after that many seconds (exit code 124 or 137).
CliResult run_cli(const std::string& args, int timeout_s = 0);

}  // namespace chiprt::test

namespace chiprt {
void PrintTo(RuntimeKind runtime, std::ostream* os);
// gtest prints codes by name ("not_found") rather than as bytes.
void PrintTo(StatusCode code, std::ostream* os);
}  // namespace chiprt

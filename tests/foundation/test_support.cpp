#include "test_support.h"

#include <fmt/format.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "device/gm_arena.h"

namespace chiprt::test {
namespace fs = std::filesystem;

Bytes read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  Bytes bytes(fs::file_size(path));
  if (!bytes.empty()) in.read(reinterpret_cast<char*>(bytes.data()), std::ssize(bytes));
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return bytes;
}

namespace {

const Bytes& cached_file(const fs::path& path) {
  static std::mutex mutex;
  static std::map<fs::path, Bytes> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, read_file_bytes(path)).first;
  return it->second;
}

class CountedCode final : public LoadedCode {
 public:
  CountedCode(std::unique_ptr<LoadedCode> inner, std::shared_ptr<std::atomic<int64_t>> alive)
      : inner_(std::move(inner)), alive_(std::move(alive)) {
    ++*alive_;
  }
  ~CountedCode() override { --*alive_; }
  void* entry() const override { return inner_->entry(); }
  void* symbol(const char* name) const override { return inner_->symbol(name); }

 private:
  std::unique_ptr<LoadedCode> inner_;
  std::shared_ptr<std::atomic<int64_t>> alive_;
};

std::string read_text(const fs::path& path) {
  const Bytes bytes = read_file_bytes(path);
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

const Bytes& fixture_so(std::string_view file) {
  return cached_file(fs::path(CHIPRT_FIXTURES_DIR) / file);
}
const Bytes& example_so(std::string_view file) {
  return cached_file(fs::path(CHIPRT_EXAMPLES_SO_DIR) / file);
}

namespace {
// The number after the last "returned " of a failed run's message.
int returned_code(const Result<RunReport>& run) {
  if (run.ok()) return -1;
  const std::string_view message = run.status().message();
  const size_t at = message.rfind("returned ");
  if (at == std::string_view::npos) return -1;
  return std::atoi(std::string(message.substr(at + 9)).c_str());
}
}  // namespace

int orchestration_marker(ChipWorker& worker, CallableId id) {
  return returned_code(worker.run(id, RunArgs{}));
}

int kernel_marker(ChipWorker& worker, CallableId id, const KernelInfo& kernel) {
  RunArgs args;
  args.scalars["probe"] = kernel.func_id;
  args.scalars["core"] = static_cast<double>(kernel.core);
  return returned_code(worker.run(id, args));
}

ImageView parse_ok(ByteSpan image) {
  Result<ImageView> view = ImageView::parse(image);
  if (!view.ok()) throw std::runtime_error("ImageView::parse: " + view.status().to_string());
  return *view;
}

Bytes make_image(const Bytes& orchestration, const std::vector<KernelPart>& kernels,
                 const std::string& name, const Signature& signature) {
  ImageSource source{orchestration, {}, name, signature};
  for (const KernelPart& kernel : kernels) {
    source.kernels.push_back({kernel.func_id, kernel.core, *kernel.shared_object, kernel.name});
  }
  Result<Bytes> image = write_image(source);
  if (!image.ok()) throw std::runtime_error("write_image: " + image.status().to_string());
  return std::move(image).value();
}

Bytes vector_image(const std::string& name) {
  return make_image(example_so("orch_vector.so"),
                    {{1, CoreType::aiv, &example_so("kernel_add.so")},
                     {2, CoreType::aiv, &example_so("kernel_add_scalar.so")},
                     {3, CoreType::aiv, &example_so("kernel_mul.so")}},
                    name);
}

Bytes signed_vector_image(const std::string& name) {
  Result<Signature> signature = parse_signature(kVectorSignature);
  if (!signature.ok()) throw std::runtime_error(signature.status().to_string());
  return make_image(example_so("orch_vector.so"),
                    {{1, CoreType::aiv, &example_so("kernel_add.so")},
                     {2, CoreType::aiv, &example_so("kernel_add_scalar.so")},
                     {3, CoreType::aiv, &example_so("kernel_mul.so")}},
                    name, *signature);
}

Bytes named_vector_image(const std::string& name) {
  Result<Signature> signature = parse_signature(kVectorSignature);
  if (!signature.ok()) throw std::runtime_error(signature.status().to_string());
  return make_image(example_so("orch_vector.so"),
                    {{1, CoreType::aiv, &example_so("kernel_add.so"), "kernel_add"},
                     {2, CoreType::aiv, &example_so("kernel_add_scalar.so"), "kernel_add_scalar"},
                     {3, CoreType::aiv, &example_so("kernel_mul.so"), "kernel_mul"}},
                    name, *signature);
}

Bytes version_1_1_vector_image(const std::string& name) {
  const Bytes& orch = example_so("orch_vector.so");
  const Bytes* kernels[] = {&example_so("kernel_add.so"), &example_so("kernel_add_scalar.so"),
                            &example_so("kernel_mul.so")};
  const auto up64 = [](uint64_t n) { return (n + 63) / 64 * 64; };
  chiprt_image_header_t header{};
  header.magic = 0x474D4943u;  // "CIMG"
  header.version_major = 1;
  header.version_minor = 1;
  header.header_size = static_cast<uint32_t>(up64(128 + 3 * 32));
  header.child_count = 3;
  header.orch_offset = header.header_size;
  header.orch_size = orch.size();
  std::memcpy(header.name, name.data(), std::min<size_t>(name.size(), sizeof header.name - 1));
  std::vector<chiprt_image_child_t> children;
  uint64_t end = header.orch_offset + orch.size();
  for (uint32_t i = 0; i < 3; ++i) {
    children.push_back({i + 1, CHIPRT_CORE_AIV, up64(end), kernels[i]->size(), 0});
    end = up64(end) + kernels[i]->size();
  }
  header.total_size = end;
  Bytes image(end);
  std::memcpy(image.data(), &header, sizeof header);
  std::memcpy(image.data() + sizeof header, children.data(), 3 * sizeof(chiprt_image_child_t));
  std::memcpy(image.data() + header.orch_offset, orch.data(), orch.size());
  for (uint32_t i = 0; i < 3; ++i) {
    std::memcpy(image.data() + children[i].offset, kernels[i]->data(), kernels[i]->size());
  }
  XXH128_canonical_t hash;  // XXH3-128 of bytes [24, end), canonical (big-endian) form
  XXH128_canonicalFromHash(&hash, XXH3_128bits(image.data() + 24, image.size() - 24));
  std::memcpy(image.data() + 8, hash.digest, sizeof hash.digest);
  return image;
}

std::vector<Bytes> distinct_vector_images(size_t count, const std::string& prefix) {
  std::vector<Bytes> images;
  images.reserve(count);
  for (size_t i = 0; i < count; ++i)
    images.push_back(vector_image(fmt::format("{}-{:06}", prefix, i)));
  return images;
}

namespace {
Bytes fixture_image(const char* orchestration, const char* kernel_1, const char* kernel_2,
                    const std::string& name) {
  return make_image(
      fixture_so(orchestration),
      {{1, CoreType::aic, &fixture_so(kernel_1)}, {2, CoreType::aiv, &fixture_so(kernel_2)}}, name);
}
}  // namespace

Bytes fixture_image_a(const std::string& name) {
  return fixture_image("fixture_orch_a.so", "fixture_kernel_a.so", "fixture_kernel_b.so", name);
}
Bytes fixture_image_b(const std::string& name) {
  return fixture_image("fixture_orch_b.so", "fixture_kernel_b.so", "fixture_kernel_a.so", name);
}

ReadOnlyCopy::ReadOnlyCopy(ByteSpan bytes) : mapping_(nullptr), size_(bytes.size()) {
  if (size_ == 0) return;
  mapping_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw std::runtime_error("mmap failed");
  std::memcpy(mapping_, bytes.data(), size_);
  if (mprotect(mapping_, size_, PROT_READ) != 0) throw std::runtime_error("mprotect failed");
}

ReadOnlyCopy::~ReadOnlyCopy() {
  munmap(mapping_, size_);
}

std::string backend_name(Backend backend) {
  switch (backend) {
    case Backend::a2a3:
      return "a2a3";
    case Backend::a5:
      return "a5";
    case Backend::null_device:
      return "null_device";
  }
  return "unknown";
}

std::string backend_param_name(const testing::TestParamInfo<Backend>& info) {
  return backend_name(info.param);
}

void PrintTo(Backend backend, std::ostream* os) {
  *os << backend_name(backend);
}

std::shared_ptr<Device> make_device(Backend backend, uint64_t capacity) {
  if (backend == Backend::null_device) return create_null_device();
  Result<ChipProfile> profile = chip_profile(backend_name(backend));
  if (!profile.ok()) throw std::runtime_error(profile.status().to_string());
  auto device = create_sim_chip(*profile, capacity);
  if (!device) throw std::runtime_error("create_sim_chip failed");
  return device;
}

std::unique_ptr<ChipWorker> make_worker(std::shared_ptr<Device> device, WorkerOptions options) {
  Result<std::unique_ptr<ChipWorker>> worker =
      ChipWorker::create(std::move(device), std::move(options));
  if (!worker.ok()) throw std::runtime_error(worker.status().to_string());
  return std::move(worker).value();
}

Bytes read_device(const Device& device, DeviceAddr addr, uint64_t size) {
  Bytes bytes(size);
  const Status status = device.copy_from_device(bytes, addr);
  if (!status.ok()) throw std::runtime_error("copy_from_device: " + status.to_string());
  return bytes;
}

std::vector<LiveSegment> live_device_memory(Device& device) {
  const DeviceStats stats = device.stats();
  const uint64_t granule = device.allocation_granularity();
  std::vector<LiveSegment> segments;
  for (uint64_t offset = 0; offset < stats.capacity_bytes; offset += granule) {
    const DeviceAddr addr = device::GmArena::kDeviceBase + offset;
    const std::byte* host = device.host_pointer(addr, granule);
    if (host == nullptr) continue;
    if (segments.empty() || segments.back().addr + segments.back().bytes.size() != addr) {
      segments.push_back({addr, {}});
    }
    segments.back().bytes.insert(segments.back().bytes.end(), host, host + granule);
  }
  return segments;
}

uint64_t placed_bytes(const Bytes& image, RuntimeKind runtime) {
  // From the header's fields alone: the copy ends at the last code object (the signature section
  // after it is host metadata), and hbg leaves out what lies between the header and the kernels.
  const auto* header = reinterpret_cast<const chiprt_image_header_t*>(image.data());
  const auto* children =
      reinterpret_cast<const chiprt_image_child_t*>(image.data() + sizeof *header);
  uint64_t code_end = header->orch_offset + header->orch_size;
  uint64_t kernels_begin = code_end;
  for (uint32_t i = 0; i < header->child_count; ++i) {
    code_end = std::max<uint64_t>(code_end, children[i].offset + children[i].size);
    kernels_begin =
        i == 0 ? children[i].offset : std::min<uint64_t>(kernels_begin, children[i].offset);
  }
  if (runtime == RuntimeKind::tmr) return code_end;
  return header->orch_offset + (code_end - kernels_begin);
}

uint64_t placed_allocation(const Bytes& image, RuntimeKind runtime) {
  constexpr uint64_t kGranularity = 512;  // the documented SimChip allocation granularity
  return (placed_bytes(image, runtime) + kGranularity - 1) / kGranularity * kGranularity;
}

size_t count_in_live_device_memory(Device& device, ByteSpan needle) {
  size_t count = 0;
  for (const LiveSegment& segment : live_device_memory(device)) {
    auto from = segment.bytes.begin();
    while (true) {
      from = std::search(from, segment.bytes.end(), needle.begin(), needle.end());
      if (from == segment.bytes.end()) break;
      ++count;
      from += static_cast<ptrdiff_t>(needle.size());
    }
  }
  return count;
}

uint64_t callable_live_bytes(const Device& device) {
  return device.stats().tag(MemoryTag::callable).live_bytes;
}
uint64_t callable_live_allocations(const Device& device) {
  return device.stats().tag(MemoryTag::callable).live_allocations;
}

namespace {
class RoutingLoader final : public CodeLoader {
 public:
  RoutingLoader(std::shared_ptr<CodeLoader> device, std::shared_ptr<CodeLoader> orchestrations)
      : device_(std::move(device)), orchestrations_(std::move(orchestrations)) {}
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                           const char* entry_symbol) override {
    const bool orchestration = std::string_view(entry_symbol) == CHIPRT_ORCH_ENTRY_SYMBOL;
    return (orchestration ? orchestrations_ : device_)->load(shared_object, entry_symbol);
  }

 private:
  std::shared_ptr<CodeLoader> device_;
  std::shared_ptr<CodeLoader> orchestrations_;
};
}  // namespace

std::shared_ptr<CodeLoader> worker_loader(Device& device, RuntimeKind runtime,
                                          const CodeCacheBounds& cache) {
  if (runtime == RuntimeKind::tmr) return device.code_loader(cache);
  return std::make_shared<RoutingLoader>(device.code_loader(cache), orchestration_sandbox_loader());
}

Result<std::unique_ptr<LoadedCode>> CountingLoader::load(ByteSpan shared_object,
                                                         const char* entry_symbol) {
  ++calls_;
  {
    std::lock_guard lock(mutex_);
    sources_.emplace_back(shared_object.data(), shared_object.size());
  }
  auto loaded = inner_->load(shared_object, entry_symbol);
  if (!loaded.ok()) return std::move(loaded).status();
  ++successes_;
  return std::unique_ptr<LoadedCode>(
      std::make_unique<CountedCode>(std::move(loaded).value(), alive_));
}

std::vector<std::pair<const std::byte*, size_t>> CountingLoader::sources() const {
  std::lock_guard lock(mutex_);
  return sources_;
}

std::set<std::string> directory_entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

CreationWatch::CreationWatch(const fs::path& dir) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0 || inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    throw std::runtime_error("cannot watch " + dir.string());
  }
}

CreationWatch::~CreationWatch() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> CreationWatch::created() {
  alignas(inotify_event) char buffer[16 * 1024];
  while (true) {
    const ssize_t length = read(fd_, buffer, sizeof buffer);
    if (length <= 0) break;
    for (ssize_t at = 0; at < length;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      seen_.emplace_back(event->len > 0 ? event->name : "?");
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return seen_;
}

ScopedTempDir::ScopedTempDir() {
  std::string pattern = (fs::temp_directory_path() / "chiprt-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

ScopedEmptyTmpdir::ScopedEmptyTmpdir() {
  if (const char* old = std::getenv("TMPDIR")) previous_ = old;
  setenv("TMPDIR", path().c_str(), 1);
}

ScopedEmptyTmpdir::~ScopedEmptyTmpdir() {
  if (previous_) {
    setenv("TMPDIR", previous_->c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
}

std::set<std::string> open_named_files(pid_t pid, int first_fd) {
  std::set<std::string> named;
  const std::string fds = pid == 0 ? "/proc/self/fd" : "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(fds)) {
    if (std::atoi(entry.path().filename().c_str()) < first_fd) continue;
    std::error_code ec;
    const std::string target = fs::read_symlink(entry.path(), ec).string();
    if (ec || target.empty() || target.front() != '/') continue;  // socket:, pipe:, anon_inode:
    if (target.starts_with("/memfd:")) continue;
    if (target.starts_with("/dev/") && !target.starts_with("/dev/shm/")) continue;
    if (target.starts_with("/proc/")) continue;  // the directory iterator itself
    named.insert(target);
  }
  return named;
}

namespace {
// ThreadSanitizer's runtime in the device process maps a scratch file ("tsan.rodata.<pid>") in
// TMPDIR when it starts: the sanitizer's, not chiprt's, and absent from every other build.
template <typename Names>
Names without_sanitizer_files(Names names) {
#if defined(__SANITIZE_THREAD__)
  std::erase_if(names, [](const std::string& name) { return name.starts_with("tsan."); });
#endif
  return names;
}
}  // namespace

void NoFilesTest::TearDown() {
  EXPECT_EQ(without_sanitizer_files(tmpdir_.created()), std::vector<std::string>{})
      << "files were created in TMPDIR";
  EXPECT_EQ(without_sanitizer_files(directory_entries(tmpdir_.path())), std::set<std::string>{});
}

CliResult run_cli(const std::string& args, int timeout_s) {
  const ScopedTempDir dir;
  const fs::path out = dir.path() / "stdout";
  const fs::path err = dir.path() / "stderr";
  const std::string limit =
      timeout_s > 0 ? fmt::format("timeout --kill-after=5 {} ", timeout_s) : std::string();
  const std::string command =
      fmt::format("{}'{}' {} >'{}' 2>'{}'", limit, CHIPRT_CLI, args, out.string(), err.string());
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

}  // namespace chiprt::test

namespace chiprt {
void PrintTo(RuntimeKind runtime, std::ostream* os) {
  *os << runtime_name(runtime);
}
void PrintTo(StatusCode code, std::ostream* os) {
  *os << status_code_name(code);
}
}  // namespace chiprt

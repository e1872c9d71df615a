// libFuzzer target: the validated image view, and registration of every image it accepts.
//
// Each input is parsed as is, then again with its content hash re-stamped so that mutations get
// past the hash check into the structural and ELF checks. A rejected image must come back as an
// image_* error with a message. An accepted one is registered on a SimChip worker for each
// runtime (tmr, hbg) whose loader is a fake (glibc's dynamic loader is not hardened against
// fuzzed ELF, so no fuzzed byte is ever dlopened); the device accounting, the device copy and the
// bytes handed to the loader are then checked exactly, and after unregistering, device memory
// must be back to zero. Any violation aborts, so libFuzzer reports it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "chiprt/abi/image_format.h"
#include "chiprt/image.h"
#include "chiprt/worker.h"
#include "support/image_bytes.h"

namespace {

using namespace chiprt;

[[noreturn]] void violated(const char* condition, int line) {
  std::fprintf(stderr, "image_fuzz: invariant violated at line %d: %s\n", line, condition);
  std::abort();
}
#define FUZZ_CHECK(condition)                         \
  do {                                                \
    if (!(condition)) violated(#condition, __LINE__); \
  } while (0)

bool equal(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

int32_t dummy_entry() {
  return 0;
}

// Records the bytes of every load, never loads anything.
class FakeLoader final : public CodeLoader {
 public:
  class Code final : public LoadedCode {
   public:
    explicit Code(FakeLoader& loader) : loader_(loader) { ++loader_.alive; }
    ~Code() override { --loader_.alive; }
    void* entry() const override { return reinterpret_cast<void*>(&dummy_entry); }
    void* symbol(const char*) const override { return nullptr; }

   private:
    FakeLoader& loader_;
  };

  Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object, const char*) override {
    loaded.emplace_back(shared_object.begin(), shared_object.end());
    return std::unique_ptr<LoadedCode>(std::make_unique<Code>(*this));
  }

  std::vector<Bytes> loaded;
  int64_t alive = 0;
};

constexpr uint64_t kDeviceCapacity = 64ull << 20;

struct Harness {
  explicit Harness(RuntimeKind kind) : runtime(kind) {
    device = create_sim_chip(*chip_profile("a2a3"), kDeviceCapacity);
    FUZZ_CHECK(device != nullptr);
    WorkerOptions options;
    options.runtime = runtime;
    options.loader = loader;
    options.orchestration_loader = loader;  // hbg's too: this target checks bytes, not code
    auto created = ChipWorker::create(device, options);
    FUZZ_CHECK(created.ok());
    worker = std::move(created).value();
  }
  RuntimeKind runtime;
  std::shared_ptr<Device> device;
  std::shared_ptr<FakeLoader> loader = std::make_shared<FakeLoader>();
  std::unique_ptr<ChipWorker> worker;
};

Harness& harness(RuntimeKind runtime) {
  static Harness tmr(RuntimeKind::tmr);
  static Harness hbg(RuntimeKind::hbg);
  return runtime == RuntimeKind::tmr ? tmr : hbg;
}

Bytes read_device(const Device& device, DeviceAddr addr, uint64_t size) {
  Bytes bytes(size);
  FUZZ_CHECK(device.copy_from_device(bytes, addr).ok());
  return bytes;
}

bool is_image_error(StatusCode code) {
  return code >= StatusCode::image_truncated && code <= StatusCode::image_executable_stack;
}

// The device copy must be the caller's header with only the resolved addresses (and, on hbg,
// the elision flag) changed, followed by the storage; the loader must have been given the
// orchestration and then each kernel, byte for byte.
void check_placement(Harness& h, const ImageView& view, const CallableInfo& info) {
  const bool tmr = h.runtime == RuntimeKind::tmr;
  const uint64_t shift = tmr ? 0 : view.kernels_begin() - view.header_size();
  Bytes header = read_device(*h.device, info.buffer_addr, view.header_size());
  FUZZ_CHECK(info.kernels.size() == view.children().size());
  for (uint32_t i = 0; i < view.children().size(); ++i) {
    const ImageChild& child = view.children()[i];
    const DeviceAddr expected = info.buffer_addr + child.offset - shift;
    FUZZ_CHECK(test::read_child(header, i).resolved_device_addr == expected);
    FUZZ_CHECK(expected + child.size <= info.buffer_addr + info.buffer_bytes);
    FUZZ_CHECK(equal(read_device(*h.device, expected, child.size), view.child_bytes(child)));
    test::edit_child(header, i, [](chiprt_image_child_t& c) { c.resolved_device_addr = 0; });
  }
  test::edit_header(header, [&](chiprt_image_header_t& hdr) {
    FUZZ_CHECK(hdr.flags == (tmr ? 0u : CHIPRT_IMAGE_FLAG_ORCH_ELIDED));
    hdr.flags = 0;
  });
  FUZZ_CHECK(equal(header, view.bytes().first(view.header_size())));
  if (tmr) {
    FUZZ_CHECK(info.orch_addr == info.buffer_addr + view.orch_offset());
    FUZZ_CHECK(
        equal(read_device(*h.device, info.orch_addr, view.orch_size()), view.orchestration()));
  } else {
    FUZZ_CHECK(info.orch_addr == 0);
  }
  const std::vector<Bytes>& loaded = h.loader->loaded;
  FUZZ_CHECK(loaded.size() == 1 + view.children().size());
  FUZZ_CHECK(equal(loaded[0], view.orchestration()));
  for (size_t i = 0; i < view.children().size(); ++i) {
    FUZZ_CHECK(equal(loaded[1 + i], view.child_bytes(view.children()[i])));
  }
}

// The slot of a callable id (worker.h: generation in the high 32 bits, slot in the low 32).
uint64_t slot_of(CallableId id) {
  return id & 0xffffffffu;
}

void check_registration(Harness& h, ByteSpan image, const ImageView& view) {
  h.loader->loaded.clear();
  const uint64_t expected_bytes = h.device->allocation_size(callable_device_bytes(view, h.runtime));
  Result<CallableId> first = h.worker->register_callable(image);
  if (expected_bytes > kDeviceCapacity) {
    FUZZ_CHECK(first.status().code() == StatusCode::out_of_device_memory);
    FUZZ_CHECK(h.device->stats().live_bytes == 0);
    FUZZ_CHECK(h.loader->alive == 0);
    return;
  }
  FUZZ_CHECK(first.ok());
  FUZZ_CHECK(slot_of(*first) == 0);  // the smallest free slot (ids also carry a generation)
  DeviceStats stats = h.device->stats();
  FUZZ_CHECK(stats.live_bytes == expected_bytes);
  FUZZ_CHECK(stats.tag(MemoryTag::callable).live_bytes == expected_bytes);
  FUZZ_CHECK(stats.live_allocations == 1);
  FUZZ_CHECK(h.loader->alive == static_cast<int64_t>(1 + view.children().size()));
  Result<CallableInfo> info = h.worker->callable_info(*first);
  FUZZ_CHECK(info.ok());
  FUZZ_CHECK(info->refcount == 1);
  FUZZ_CHECK(info->buffer_bytes == expected_bytes);
  check_placement(h, view, *info);
  Result<std::map<uint32_t, std::string>> names = h.worker->kernel_names(*first);
  FUZZ_CHECK(names.ok() && names->size() == view.children().size());
  for (const ImageChild& child : view.children())
    FUZZ_CHECK(names->at(child.func_id) == child.name);

  Result<CallableId> second = h.worker->register_callable(image);
  FUZZ_CHECK(second.ok() && slot_of(*second) == 1);
  Result<CallableInfo> second_info = h.worker->callable_info(*second);
  FUZZ_CHECK(second_info.ok());
  FUZZ_CHECK(second_info->buffer_generation == info->buffer_generation);
  FUZZ_CHECK(second_info->refcount == 2);
  FUZZ_CHECK(h.device->stats().live_bytes == expected_bytes);
  FUZZ_CHECK(h.loader->loaded.size() == 1 + view.children().size());

  FUZZ_CHECK(h.worker->unregister_callable(*first).ok());
  FUZZ_CHECK(h.device->stats().live_bytes == expected_bytes);
  FUZZ_CHECK(h.worker->unregister_callable(*second).ok());
  FUZZ_CHECK(h.worker->unregister_callable(*second).code() == StatusCode::not_found);
  stats = h.device->stats();
  FUZZ_CHECK(stats.live_bytes == 0);
  FUZZ_CHECK(stats.live_allocations == 0);
  FUZZ_CHECK(h.loader->alive == 0);
  FUZZ_CHECK(h.worker->stats().registrations_live == 0);
  FUZZ_CHECK(h.worker->stats().distinct_buffers_live == 0);
}

void exercise(ByteSpan bytes) {
  const Result<ImageView> view = ImageView::parse(bytes);
  if (!view.ok()) {
    FUZZ_CHECK(is_image_error(view.status().code()));
    FUZZ_CHECK(!view.status().message().empty());
    // Nothing reaches the device: registration fails with the same code.
    const uint64_t failed_before = harness(RuntimeKind::tmr).device->stats().failed_allocations;
    FUZZ_CHECK(harness(RuntimeKind::tmr).worker->register_callable(bytes).status().code() ==
               view.status().code());
    FUZZ_CHECK(harness(RuntimeKind::tmr).device->stats().live_bytes == 0);
    FUZZ_CHECK(harness(RuntimeKind::tmr).device->stats().failed_allocations == failed_before);
    return;
  }
  FUZZ_CHECK(view->size() == bytes.size());
  FUZZ_CHECK(view->orch_offset() == view->header_size());
  FUZZ_CHECK(view->orch_size() > 0 && view->orch_offset() + view->orch_size() <= view->size());
  for (const ImageChild& child : view->children()) {
    FUZZ_CHECK(child.offset % CHIPRT_IMAGE_ALIGN == 0);
    FUZZ_CHECK(child.offset >= view->orch_offset() + view->orch_size());
    FUZZ_CHECK(child.size > 0 && child.offset + child.size <= view->size());
    FUZZ_CHECK(child.offset >= view->kernels_begin());
    // A stored name is a valid one; without the table, every kernel is "func N".
    FUZZ_CHECK(view->kernel_names_size() == 0 ? child.name == default_kernel_name(child.func_id)
                                              : kernel_name_defect(child.name).empty());
  }
  FUZZ_CHECK(view->kernel_names_size() == 0 ||
             view->kernel_names_size() == view->children().size() * CHIPRT_IMAGE_KERNEL_NAME_BYTES);
  for (RuntimeKind runtime : {RuntimeKind::tmr, RuntimeKind::hbg}) {
    check_registration(harness(runtime), bytes, *view);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(reinterpret_cast<const std::byte*>(data), size);
  exercise(input);
  if (size >= CHIPRT_IMAGE_HASHED_FROM) {
    Bytes restamped(input.begin(), input.end());
    test::restamp_content_hash(restamped);
    if (!equal(restamped, input)) exercise(restamped);
  }
  return 0;
}

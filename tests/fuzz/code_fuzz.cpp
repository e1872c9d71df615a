// libFuzzer target past the content hash: mutates the code objects of a packed image (the
// orchestration and the kernels, everything after the header) and recomputes the hash, so every
// input reaches the ELF checks and then the loaders and the code itself, in the device process
// and, on hbg, in the orchestration sandbox. Each valid mutant is registered and run on both
// runtimes of one simulated chip. Invariants (I11, I13): the host never crashes or hangs; a
// registration or run either succeeds or returns a status; after unregistering, no callable
// bytes remain on the device; a lost device comes back with reset(). Seeds: the packed examples.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "chiprt/image.h"
#include "chiprt/worker.h"
#include "format/image_layout.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

using namespace chiprt;

#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "invariant violated: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

struct Chip {
  std::shared_ptr<Device> device = create_sim_chip(*chip_profile("a2a3"), 256ull << 20);
  std::unique_ptr<ChipWorker> workers[2];
  Chip() {
    FUZZ_CHECK(device != nullptr);
    for (RuntimeKind rt : {RuntimeKind::tmr, RuntimeKind::hbg}) {
      WorkerOptions options;
      options.runtime = rt;
      options.stall_timeout = std::chrono::seconds(2);
      options.run_timeout = std::chrono::seconds(5);
      options.heap_bytes = 4 << 20;
      auto worker = ChipWorker::create(device, options);
      FUZZ_CHECK(worker.ok());
      workers[static_cast<int>(rt)] = std::move(worker).value();
    }
  }
};

Chip& chip() {
  static Chip c;
  return c;
}

HostTensor filled(std::vector<int64_t> shape, float value) {
  HostTensor t;
  t.shape = std::move(shape);
  const std::vector<float> values(static_cast<size_t>(t.element_count()), value);
  t.data.resize(values.size() * sizeof(float));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

}  // namespace

// Mutates the bytes after the header (the code objects, and a signature if any), keeping the
// size, then recomputes the content hash.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  (void)seed;
  if (size < sizeof(chiprt_image_header_t)) return LLVMFuzzerMutate(data, size, max_size);
  chiprt_image_header_t header;
  std::memcpy(&header, data, sizeof header);
  const uint64_t from = header.orch_offset;
  if (from < sizeof header || from >= size) return LLVMFuzzerMutate(data, size, max_size);
  const size_t code = size - from;
  const size_t mutated = LLVMFuzzerMutate(data + from, code, code);
  if (mutated < code) std::memset(data + from + mutated, 0, code - mutated);
  auto* patched = reinterpret_cast<chiprt_image_header_t*>(data);
  format::store_hash(patched->content_hash,
                     format::content_hash_of(ByteSpan(reinterpret_cast<std::byte*>(data), size)));
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan image(reinterpret_cast<const std::byte*>(data), size);
  if (!ImageView::parse(image).ok()) return 0;
  Chip& c = chip();
  RunArgs args;  // the vector example's; other images fail in their orchestration, as a status
  args.tensors["a"] = filled({8, 64}, 2.0f);
  args.tensors["b"] = filled({8, 64}, 3.0f);
  for (auto& worker : c.workers) {
    auto id = worker->register_callable(image);
    if (id.ok()) {
      (void)worker->run(*id, args);
      // A run that lost the device leaves every call device_lost until reset() (the sticky
      // error), which drops the registration with the device.
      const Status unregistered = worker->unregister_callable(*id);
      FUZZ_CHECK(unregistered.ok() || unregistered.code() == StatusCode::device_lost);
    }
    if (!c.device->health().ok()) FUZZ_CHECK(worker->reset().ok());
    FUZZ_CHECK(c.device->stats().tag(MemoryTag::callable).live_bytes == 0);
  }
  return 0;
}

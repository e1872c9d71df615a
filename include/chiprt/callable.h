// A registered callable as the public API names it: its id, the device bytes its image takes on
// each runtime, and the snapshot callable_info() returns. Shared by the registry (which hands
// these out) and the worker (which exposes them); thread-safe (no state).
#pragma once

#include <cstdint>
#include <vector>

#include "chiprt/device.h"
#include "chiprt/image.h"
#include "chiprt/runtime_kind.h"

namespace chiprt {

// A callable id, printed and stored as a plain unsigned 64-bit integer:
//   id = generation << 32 | slot
// slot (low 32 bits) is the smallest free registration slot when the id was handed out;
// generation (high 32 bits) starts at 0 for every slot and moves on by one each time the slot is
// freed. So the first registration on a fresh worker is id 0 and, while no slot has been reused,
// ids are 0, 1, 2, ...; after unregister(3), the next registration gets slot 3 at generation 1,
// id 1 << 32 | 3 = 4294967299, and id 3 answers not_found. A slot whose generation would wrap is
// retired instead, so an id is never handed out twice by one worker.
using CallableId = uint64_t;

// Bytes of device memory that `image` occupies once registered on `runtime`, before the device
// rounds it to its allocation granularity: the image up to its last code object on tmr, the same
// without the orchestration (header + kernels) on hbg. The signature section stays on the host.
uint64_t callable_device_bytes(const ImageView& image, RuntimeKind runtime);

struct KernelInfo {
  uint32_t func_id;
  CoreType core;
  DeviceAddr addr;
  uint64_t size;
  void* entry;
};

// What a registration resolved to (for tests and tools). A snapshot: its addresses and entry
// pointers are valid only while the registration (or a run of it) keeps the buffer alive.
struct CallableInfo {
  uint64_t buffer_generation = 0;
  DeviceAddr buffer_addr = 0;
  uint64_t buffer_bytes = 0;
  uint32_t refcount = 0;
  bool orch_on_device = false;
  DeviceAddr orch_addr = 0;  // tmr: buffer_addr + orch_offset; hbg: 0
  uint64_t orch_size = 0;
  void* orch_entry = nullptr;
  std::vector<KernelInfo> kernels;
};

}  // namespace chiprt

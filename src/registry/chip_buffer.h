// ChipBuffer: the single device copy of one distinct image, with the code loaded from it.
//
// Owned by ChipBufferPool, which alone changes refcount and leases (under its mutex). Everything
// else is immutable once the buffer is published, so holders of a lease read it without locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chiprt/code_loader.h"
#include "chiprt/device.h"
#include "chiprt/image.h"
#include "chiprt/runtime_kind.h"

namespace chiprt::registry {

struct LoadedKernel {
  uint32_t func_id;
  CoreType core;
  DeviceAddr addr;  // inside the buffer
  uint64_t size;
  std::unique_ptr<LoadedCode> code;
  std::string name;  // ImageChild::name: from the image's kernel-name table, or "func N"
};

struct ChipBuffer {
  uint64_t generation = 0;  // unique per pool for its lifetime; caches key on this
  ImageHash identity;
  uint64_t image_size = 0;
  std::string name;  // the image's
  RuntimeKind runtime = RuntimeKind::tmr;
  DeviceBuffer memory;
  Bytes canonical_header;    // the caller's header bytes, resolved addresses still 0
  Signature signature;       // the image's signature section, parsed once; empty when none
  Bytes host_orchestration;  // hbg only: the orchestration lives on the host
  uint64_t orch_offset = 0;
  uint64_t orch_size = 0;
  uint64_t kernel_shift = 0;  // image offset - device offset of kernels (hbg elides the orch)
  std::unique_ptr<LoadedCode> orchestration;  // tmr: from device bytes; hbg: from host bytes
  std::vector<LoadedKernel> kernels;          // sorted by func_id

  // Guarded by the pool's mutex.
  uint32_t refcount = 0;
  uint32_t leases = 0;

  const LoadedKernel* kernel(uint32_t func_id) const;
  // func_id -> LoadedKernel::name, made once the kernels are loaded (shared with launches, whose
  // stall messages name kernels).
  std::shared_ptr<const std::map<uint32_t, std::string>> names;
  const std::map<uint32_t, std::string>& kernel_names() const;
  DeviceAddr orch_addr() const {
    return runtime == RuntimeKind::tmr ? memory.addr() + orch_offset : 0;
  }
};

}  // namespace chiprt::registry

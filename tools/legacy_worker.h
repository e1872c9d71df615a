// LegacyWorker: a model of the accounting of the runtime chiprt replaces, for comparison plots.
// Per distinct image (identity: 64-bit FNV-1a, no byte compare) it uploads the whole image into
// a callable buffer and the orchestration again behind it, and frees nothing until finalize.
// It allocates and uploads real bytes on the same simulated device, so its figures (bytes,
// buffers, orchestration re-uploads) are the device's counts, not drawn.
#pragma once

#include <mutex>
#include <unordered_map>
#include <vector>

#include "chiprt/device.h"
#include "chiprt/image.h"
#include "chiprt/worker.h"

namespace chiprt::cli {

class LegacyWorker {
 public:
  explicit LegacyWorker(Device& device) : device_(device) {}
  Result<CallableId> register_callable(ByteSpan image);
  Status unregister_callable(CallableId id);  // forgets the id, keeps the memory
  void finalize();
  uint64_t registrations_live() const;
  uint64_t buffers_live() const;

 private:
  Device& device_;
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, size_t> by_fnv_;  // fnv -> index into images_
  std::vector<DeviceBuffer> buffers_;            // one per distinct image
  std::vector<bool> live_ids_;
  uint64_t live_ = 0;
};

}  // namespace chiprt::cli

// A kernel that lies to the host, written against the published device protocol (protocol.h):
// it computes out = x + 1 as asked, then writes forged frames into the device process's
// control channel, as any code running on the device could. Scalar 0 says what to forge
// (0: nothing), scalar 1 is a device address some forgeries name:
//   1 a run completion claiming success with an output of 2^40 bytes
//   2 a run completion whose output lies outside every allocation of the run
//   3 a run completion whose output is the device address `target` (another owner's buffer)
// (each for this very run, read from the status page: the host must refuse the completion for
// what it claims, not for naming another call)
//   4 a run completion for a call that was never made
//   5 a frame header whose length is over the protocol's limit
//   6 random bytes
//   7 frees of `target` for call ids 1..64
//   8 a flood of allocation requests (1,000 per call id 1..64)
//   9 the status page scribbled over with random bytes, then a crash
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "chiprt/abi/kernel.h"
#include "device/launch_codec.h"
#include "device/protocol.h"

namespace protocol = chiprt::device::protocol;

namespace {

void frame(protocol::Message type, uint64_t id, const std::vector<std::byte>& payload) {
  const protocol::FrameHeader header{type, static_cast<uint32_t>(payload.size()), id};
  std::vector<std::byte> bytes(sizeof header + payload.size());
  std::memcpy(bytes.data(), &header, sizeof header);
  if (!payload.empty()) std::memcpy(bytes.data() + sizeof header, payload.data(), payload.size());
  (void)!write(protocol::kControlFd, bytes.data(), bytes.size());
}

std::vector<std::byte> completion(uint64_t addr, uint64_t bytes, int64_t elements) {
  protocol::WireWriter w;
  w.put(int32_t{0}).put_string("");
  w.put(uint64_t{1}).put(uint64_t{1}).put(uint64_t{0}).put(uint64_t{1});
  chiprt::LaunchTensor out;
  out.name = "out";
  out.dtype = CHIPRT_DTYPE_F32;
  out.ndim = 1;
  out.shape = {elements, 0, 0, 0};
  out.addr = addr;
  out.bytes = bytes;
  protocol::put_tensors(w, {out});
  protocol::put_trace(w, {});
  return w.bytes();
}

// The run this kernel belongs to: its thread's record on the status page.
uint64_t current_run() {
  void* page = mmap(nullptr, sizeof(protocol::StatusPage), PROT_READ, MAP_SHARED,
                    protocol::kStatusFd, 0);
  if (page == MAP_FAILED) return 1;
  const auto* status = static_cast<const protocol::StatusPage*>(page);
  uint64_t run = 1;
  for (uint32_t i = 0; i < protocol::kMaxThreadRecords; ++i) {
    const protocol::ThreadRecord& t = status->records[i];
    if (t.state.load() == protocol::ThreadRecord::kernel && t.func_id.load() == 1) {
      run = t.run.load();
      break;
    }
  }
  munmap(page, sizeof(protocol::StatusPage));
  return run;
}

uint64_t next_random(uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return state >> 17;
}

}  // namespace

extern "C" int32_t chiprt_kernel_entry(const chiprt_kernel_args_t* a) {
  const float* x = static_cast<const float*>(a->tensors[0].data);
  float* out = static_cast<float*>(a->tensors[1].data);
  for (int64_t i = 0; i < a->tensors[0].shape[0]; ++i) out[i] = x[i] + 1.0f;
  const uint64_t mode = a->scalar_count > 0 ? a->scalars[0] : 0;
  const uint64_t target = a->scalar_count > 1 ? a->scalars[1] : 0;
  uint64_t seed = 0x5eed;
  switch (mode) {
    case 1:
      frame(protocol::Message::kRunDone, current_run(),
            completion(protocol::kDeviceBase, uint64_t{1} << 40, int64_t{1} << 38));
      break;
    case 2:
      frame(protocol::Message::kRunDone, current_run(),
            completion(protocol::kDeviceBase + (1ull << 39), 1024, 256));
      break;
    case 3:
      frame(protocol::Message::kRunDone, current_run(), completion(target, 1024, 256));
      break;
    case 4:
      frame(protocol::Message::kRunDone, uint64_t{1} << 40, completion(target, 1024, 256));
      break;
    case 5: {
      const protocol::FrameHeader header{protocol::Message::kLog, 0xfffffff0u, 1};
      (void)!write(protocol::kControlFd, &header, sizeof header);
      break;
    }
    case 6: {
      std::vector<uint8_t> noise(4096);
      for (uint8_t& b : noise) b = static_cast<uint8_t>(next_random(seed));
      (void)!write(protocol::kControlFd, noise.data(), noise.size());
      break;
    }
    case 7:
      for (uint64_t id = 1; id <= 64; ++id) {
        protocol::WireWriter w;
        w.put(target);
        frame(protocol::Message::kFree, id, w.bytes());
      }
      break;
    case 8:
      for (uint64_t id = 1; id <= 64; ++id) {
        for (int i = 0; i < 1000; ++i) {
          protocol::WireWriter w;
          w.put(id).put(uint64_t{1} << 20).put(uint32_t{1});
          frame(protocol::Message::kAlloc, 1000000 + id * 1000 + i, w.bytes());
        }
      }
      break;
    case 9: {
      void* page = mmap(nullptr, sizeof(protocol::StatusPage), PROT_READ | PROT_WRITE, MAP_SHARED,
                        protocol::kStatusFd, 0);
      if (page != MAP_FAILED) {
        auto* bytes = static_cast<uint64_t*>(page);
        for (size_t i = 0; i < sizeof(protocol::StatusPage) / 8; ++i) bytes[i] = next_random(seed);
      }
      raise(SIGSEGV);
      break;
    }
    default:
      break;
  }
  return 0;
}

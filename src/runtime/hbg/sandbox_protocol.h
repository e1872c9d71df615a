// The orchestration sandbox protocol, version 2: how the host (OrchestrationSandbox) and the
// sandbox process (chiprt-sandbox) that runs hbg orchestrations talk. Both sides include it.
//
// Transport: a SOCK_STREAM socketpair, fd 3 in the sandbox, carrying frames as the device
// protocol does (protocol::FrameHeader, then `length` payload bytes; WireWriter/WireReader
// encoding). The sandbox's frames are at most kMaxSandboxFrame bytes: the host refuses larger
// ones before reading them. The sandbox serves one request at a time.
//
// Messages (id meaning in brackets), host -> sandbox:
//   kLoad [request]    orchestration .so bytes (count u32, bytes)               -> kLoaded
//   kUnload [request]  handle u64                                                -> kUnloaded
//   kRecord [request]  handle u64, callable name str, heap limit u64,
//                      kernels (count u32, then func_id u32, core u32 each),
//                      tensors (count u32, then name str, dtype u32, ndim u32, shape i64 x4),
//                      scalars (count u32, then name str, value f64)
//                      -> kCalls* then kRecorded
//   kShutdown [0]      -
// sandbox -> host:
//   kReady [0]         -
//   kLoaded [request]  status code i32, message str, handle u64, counts
//   kUnloaded [request] counts
//   kCalls [request]   the orchestration's calls since the last kCalls (see call_log.h), sent
//                      at least every kFlushInterval while it makes calls, and at each log line
//   kRecorded [request] entry return code i32, entry calls u64 (times the sandbox called the
//                      orchestration's entry for this request), counts
// where counts = loads u64, unloads u64: the code the sandbox loaded (memfd + dlopen) and
// unloaded (dlclose) since it started, counted by the sandbox as it does each (I12).
#pragma once

#include <chrono>
#include <cstdint>

#include "device/protocol.h"

namespace chiprt::runtime::sandbox {

// 2: the sandbox's load and unload counts in its replies, kUnloaded, entry calls in kRecorded
inline constexpr uint32_t kVersion = 2;
inline constexpr int kChannelFd = 3;
inline constexpr uint32_t kMaxSandboxFrame = 1u << 20;
inline constexpr size_t kFlushBytes = 64u << 10;
inline constexpr auto kFlushInterval = std::chrono::milliseconds(50);
inline constexpr size_t kMaxName = 4096;  // longer names and log lines are cut

// Frame types, carried in protocol::FrameHeader::type.
enum class Message : uint32_t {
  kLoad = 1,
  kUnload,
  kRecord,
  kShutdown,
  kReady = 100,
  kLoaded,
  kCalls,
  kRecorded,
  kUnloaded,
};

inline device::protocol::Message frame_type(Message m) {
  return static_cast<device::protocol::Message>(m);
}

}  // namespace chiprt::runtime::sandbox

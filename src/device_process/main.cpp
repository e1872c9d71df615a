// chiprt-device: the device process of one simulated chip. Started by the host (DeviceProcess)
// with device memory on fd 3, the status page on fd 4 and the control channel on fd 5, and
// arguments: protocol version, profile name, AIC cores, AIV cores, AICPU threads, execution
// threads (0: the machine's), the host's pid. It exits when the host says so or goes away (EOF),
// and is killed when the host dies (parent_death.h).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "device/channel.h"
#include "device/protocol.h"
#include "device/shared_memory.h"
#include "device_runtime.h"
#include "process/parent_death.h"

// Device code that calls exit() ends the device at once, as it would end a real one: no exit
// handlers run while the chip's other threads are still executing (which can take long or
// hang). Exported to loaded code alone (see the dynamic list in src/CMakeLists.txt).
// (stdlib.h's declaration already makes it noreturn and nothrow.)
extern "C" void exit(int status) noexcept {
  // The system call itself: sanitizer runtimes intercept _exit to finalize, which can stall.
  syscall(SYS_exit_group, status);
  __builtin_unreachable();
}

namespace {

int fail(const char* why, const chiprt::Status& status = chiprt::Status()) {
  std::fprintf(stderr, "chiprt-device: %s%s%s\n", why, status.ok() ? "" : ": ",
               status.ok() ? "" : status.to_string().c_str());
  return 2;
}

uint32_t number(const char* text) {
  return static_cast<uint32_t>(std::strtoul(text, nullptr, 10));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace chiprt;
  namespace protocol = device::protocol;
  if (argc != 8 || number(argv[1]) != protocol::kVersion) {
    return fail("started with the wrong arguments or protocol version (it is started by chiprt)");
  }
  if (!process::tie_to_parent(argv[7])) return fail("its host is gone");
  // A terminal's Ctrl-C reaches the whole foreground process group: it is the host's to handle
  // (it cancels its runs, and ends this process if it must), not a reason to lose the device.
  signal(SIGINT, SIG_IGN);
  ChipProfile profile{argv[2], number(argv[3]), number(argv[4]), number(argv[5]), 0, 0};
  auto memory = device::SharedMemory::adopt(protocol::kMemoryFd);
  if (!memory.ok()) return fail("mapping device memory", memory.status());
  auto status_memory = device::SharedMemory::adopt(protocol::kStatusFd);
  if (!status_memory.ok()) return fail("mapping the status page", status_memory.status());
  if ((*status_memory)->size() < sizeof(protocol::StatusPage)) return fail("status page too small");
  auto& status = *reinterpret_cast<protocol::StatusPage*>((*status_memory)->data());
  device::Channel channel(protocol::kControlFd);

  // The chip's threads start now, so no run pays for them.
  std::optional<runtime::AicpuPool> aicpu;
  try {
    aicpu.emplace(profile.aicpu_threads);
  } catch (const std::exception& e) {
    return fail("starting the AICPU threads", Status(StatusCode::unavailable, e.what()));
  }
  auto cores = runtime::CorePool::create(profile.aic_cores, profile.aiv_cores, number(argv[6]));
  if (!cores.ok()) return fail("starting the cores", cores.status());
  (*cores)->report_parked_to(status.parked_execution_threads);
  device_process::DeviceRuntime runtime(profile, channel, **memory, status, *aicpu, **cores);

  protocol::WireWriter ready;
  ready.put(profile.aicpu_threads).put((*cores)->threads());
  if (!channel.send(protocol::Message::kReady, 0, ready.bytes())) return 0;
  runtime.serve();
  // Runs may still be executing (the host gave up on them): leave without joining them.
  std::fflush(nullptr);
  _exit(0);
}

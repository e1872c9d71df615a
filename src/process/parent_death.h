// The child's side of ChildProcess: ends the child when its parent dies, however the parent
// dies. Header-only, for the executables chiprt starts.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>

namespace chiprt::process {

// Asks for SIGKILL when the spawning thread of the parent ends, then checks that the parent
// (whose pid the parent appended to argv) is still the parent: if it died before the request,
// no signal would ever come. Returns false when the parent is already gone.
inline bool tie_to_parent(const char* parent_pid) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return false;
  const long expected = std::strtol(parent_pid, nullptr, 10);
  return expected > 0 && getppid() == static_cast<pid_t>(expected);
}

}  // namespace chiprt::process

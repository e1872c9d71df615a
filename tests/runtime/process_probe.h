// What the tests read of processes from /proc: children (zombies included), names, CPU time,
// open fds. One home for the runtime tests that watch the processes chiprt starts.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chiprt::testing {

struct ProcStat {
  pid_t ppid = 0;
  uint64_t cpu_ticks = 0;  // user + system
  bool alive = false;      // neither a zombie nor gone
};

inline ProcStat proc_stat(pid_t pid) {
  ProcStat out;
  std::string line;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/stat"), line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream rest(line.substr(close + 2));
  std::string state, skip;
  rest >> state >> out.ppid;
  for (int field = 5; field < 14; ++field) rest >> skip;
  uint64_t utime = 0, stime = 0;
  rest >> utime >> stime;
  out.cpu_ticks = utime + stime;
  out.alive = state != "Z" && state != "X";
  return out;
}

inline std::string comm_of(pid_t pid) {
  std::string comm;
  std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
  return comm;
}

// Children of `parent` (zombies included) named `comm`, or all of them when `comm` is empty.
inline std::vector<pid_t> children_of(pid_t parent, const std::string& comm = {}) {
  std::vector<pid_t> out;
  DIR* dir = opendir("/proc");
  while (dirent* e = readdir(dir)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0 && proc_stat(pid).ppid == parent && (comm.empty() || comm_of(pid) == comm)) {
      out.push_back(pid);
    }
  }
  closedir(dir);
  return out;
}

// This process's children.
inline std::vector<pid_t> children(const std::string& comm = {}) {
  return children_of(getpid(), comm);
}

inline size_t open_fds() {
  size_t n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n - 1;  // the directory's own fd
}

}  // namespace chiprt::testing

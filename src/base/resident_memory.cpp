#include "base/resident_memory.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace chiprt {

ResidentMemory resident_memory(pid_t pid) {
  ResidentMemory out;
  const std::string path =
      pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status";
  std::FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return out;
  char line[256];
  while (std::fgets(line, sizeof line, file) != nullptr) {
    unsigned long long kib = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kib) == 1) out.resident_bytes = kib * 1024;
    if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) out.peak_resident_bytes = kib * 1024;
  }
  std::fclose(file);
  return out;
}

}  // namespace chiprt

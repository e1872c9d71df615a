// EchoPeer: the floor of launch latency. A second process (/bin/cat) holding the other end of a
// socketpair, so round_trip() is one small message there and back between two processes over
// the same kind of channel the device protocol uses, and nothing else.
#pragma once

#include <sys/types.h>

#include "chiprt/status.h"

namespace chiprt::cli {

class EchoPeer {
 public:
  static Result<EchoPeer> start();
  EchoPeer(EchoPeer&& other) noexcept;
  EchoPeer& operator=(EchoPeer&&) = delete;
  ~EchoPeer();
  // One 16-byte frame (a protocol frame header's size) to the peer and back.
  Status round_trip();

 private:
  EchoPeer(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  int fd_ = -1;
  pid_t pid_ = -1;
};

}  // namespace chiprt::cli

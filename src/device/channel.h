// Channel: one end of the control channel (a SOCK_STREAM socket), carrying whole frames of the
// device protocol. send() is thread-safe (frames never interleave); receive() is for one
// reading thread. Sole owner of its socket.
#pragma once

#include <mutex>
#include <vector>

#include "protocol.h"

namespace chiprt::device {

class Channel {
 public:
  // Frames longer than `max_payload` are refused before anything is read or allocated for them.
  explicit Channel(int fd, uint32_t max_payload = protocol::kMaxPayload);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // false when the peer is gone (never raises SIGPIPE).
  bool send(protocol::Message type, uint64_t id, const std::vector<std::byte>& payload = {});
  // Blocks for one whole frame; false on EOF, an error or an oversized frame. When sizing
  // `payload` throws (host memory), the frame's header stays read: the next receive() goes on
  // with the same frame.
  bool receive(protocol::FrameHeader& header, std::vector<std::byte>& payload);
  int fd() const { return fd_; }
  // The length a frame header claimed when receive() failed for it being over the limit
  // (a protocol violation, unlike an end of file); 0 otherwise.
  uint64_t oversized_length() const { return oversized_length_; }
  // Wakes a blocked receive() on either end (it then returns false).
  void shutdown() noexcept;

 private:
  bool write_all(const std::byte* data, size_t size);
  bool read_all(std::byte* data, size_t size);
  const int fd_;
  const uint32_t max_payload_;
  std::mutex send_mutex_;
  protocol::FrameHeader pending_{};  // the reader's: a header whose payload is still unread
  bool has_pending_ = false;
  uint64_t oversized_length_ = 0;
};

}  // namespace chiprt::device

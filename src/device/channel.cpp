#include "channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace chiprt::device {

Channel::Channel(int fd, uint32_t max_payload) : fd_(fd), max_payload_(max_payload) {
  // Frames of traces and launches can be large; deep buffers keep both ends from waiting on
  // each other.
  const int bytes = 4 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

Channel::~Channel() {
  close(fd_);
}

void Channel::shutdown() noexcept {
  ::shutdown(fd_, SHUT_RDWR);
}

bool Channel::write_all(const std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool Channel::read_all(std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::recv(fd_, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool Channel::send(protocol::Message type, uint64_t id, const std::vector<std::byte>& payload) {
  if (payload.size() > protocol::kMaxPayload) return false;
  const protocol::FrameHeader header{type, static_cast<uint32_t>(payload.size()), id};
  std::lock_guard lock(send_mutex_);
  return write_all(reinterpret_cast<const std::byte*>(&header), sizeof header) &&
         write_all(payload.data(), payload.size());
}

bool Channel::receive(protocol::FrameHeader& header, std::vector<std::byte>& payload) {
  if (!has_pending_) {
    if (!read_all(reinterpret_cast<std::byte*>(&pending_), sizeof pending_)) return false;
    if (pending_.length > max_payload_) {
      oversized_length_ = pending_.length;
      return false;
    }
    has_pending_ = true;
  }
  payload.resize(pending_.length);
  has_pending_ = false;
  header = pending_;
  return read_all(payload.data(), payload.size());
}

}  // namespace chiprt::device

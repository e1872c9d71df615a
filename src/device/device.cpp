#include "chiprt/device.h"

namespace chiprt {

std::string_view memory_tag_name(MemoryTag tag) noexcept {
  switch (tag) {
    case MemoryTag::callable:
      return "callable";
    case MemoryTag::tensor:
      return "tensor";
    case MemoryTag::runtime:
      return "runtime";
    case MemoryTag::other:
      return "other";
  }
  return "unknown";
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    device_ = std::exchange(other.device_, nullptr);
    addr_ = std::exchange(other.addr_, 0);
    size_ = std::exchange(other.size_, 0);
    tag_ = other.tag_;
  }
  return *this;
}

void DeviceBuffer::reset() noexcept {
  if (device_ != nullptr) std::exchange(device_, nullptr)->release(addr_);
  addr_ = 0;
  size_ = 0;
}

namespace {
// A device that executes no code loads none; the host never loads image code (I13).
class NoLoader final : public CodeLoader {
 public:
  Result<std::unique_ptr<LoadedCode>> load(ByteSpan, const char*) override {
    return Status(StatusCode::unavailable, "this device does not load code");
  }
};
}  // namespace

std::shared_ptr<CodeLoader> Device::code_loader(const CodeCacheBounds&) {
  return std::make_shared<NoLoader>();
}

Result<LaunchResult> Device::launch(const OrchestrationLaunch&, const Deadlines&) {
  return Status(StatusCode::unavailable, "this device does not execute code");
}

Result<LaunchResult> Device::launch(const GraphLaunch&, const Deadlines&) {
  return Status(StatusCode::unavailable, "this device does not execute code");
}

}  // namespace chiprt

namespace chiprt {

Status Device::upload(DeviceAddr dst, std::span<const ByteSpan> pieces) {
  for (ByteSpan piece : pieces) {
    CHIPRT_RETURN_IF_ERROR(copy_to_device(dst, piece));
    dst += piece.size();
  }
  return Status::Ok();
}

}  // namespace chiprt

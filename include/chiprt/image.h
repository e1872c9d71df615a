// Callable images: writing them and reading them through a validated view.
//
// Contract: ImageView::parse is the only way chiprt reads an image. It checks, before anything
// is allocated: magic, major version, every size, offset and length (overflow-safe), 64-byte
// alignment, that no child overlaps the orchestration or another child, unique func_ids, valid
// core types, zero resolved addresses, that the orchestration and every kernel are ELF shared
// objects for this machine (libelf), and the content hash. Each defect class has its own
// StatusCode (image_*). A view borrows the bytes; they must outlive it. All functions here are
// thread-safe (they share no state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chiprt/abi/image_format.h"
#include "chiprt/bytes.h"
#include "chiprt/status.h"

namespace chiprt {

enum class CoreType : uint32_t { aic = CHIPRT_CORE_AIC, aiv = CHIPRT_CORE_AIV };
std::string_view core_type_name(CoreType core) noexcept;  // "aic" / "aiv"

// XXH3-128 digest, kept as the two 64-bit halves.
struct ImageHash {
  uint64_t high = 0;
  uint64_t low = 0;
  friend bool operator==(const ImageHash&, const ImageHash&) = default;
  std::string hex() const;  // 32 lowercase hex digits, high half first
};

// XXH3-128 (seed 0) of `bytes`, using libxxhash's runtime-dispatched entry point.
ImageHash hash_bytes(ByteSpan bytes) noexcept;

struct ImageChild {
  uint32_t func_id;
  CoreType core;
  uint64_t offset;
  uint64_t size;
};

class ImageView {
 public:
  // Validates `bytes` as a whole image. Verifies the content hash unless `verify_hash` is
  // false (used only by tools that inspect deliberately damaged images).
  static Result<ImageView> parse(ByteSpan bytes, bool verify_hash = true);

  ByteSpan bytes() const { return bytes_; }
  uint64_t size() const { return bytes_.size(); }
  const chiprt_image_header_t& header() const { return header_; }
  uint32_t version_major() const { return header_.version_major; }
  uint32_t version_minor() const { return header_.version_minor; }
  uint64_t header_size() const { return header_.header_size; }
  std::string_view name() const;
  ImageHash content_hash() const { return content_hash_; }

  uint64_t orch_offset() const { return header_.orch_offset; }
  uint64_t orch_size() const { return header_.orch_size; }
  ByteSpan orchestration() const { return bytes_.subspan(orch_offset(), orch_size()); }

  const std::vector<ImageChild>& children() const { return children_; }
  ByteSpan child_bytes(const ImageChild& child) const {
    return bytes_.subspan(child.offset, child.size);
  }
  // Offset of the lowest kernel, or size() when there are none: [kernels_begin(), size())
  // is the kernel region that the host-graph runtime uploads without the orchestration.
  uint64_t kernels_begin() const { return kernels_begin_; }

 private:
  ImageView() = default;
  ByteSpan bytes_;
  chiprt_image_header_t header_{};
  ImageHash content_hash_;
  std::vector<ImageChild> children_;
  uint64_t kernels_begin_ = 0;
};

struct KernelSource {
  uint32_t func_id;
  CoreType core;
  ByteSpan shared_object;
};

struct ImageSource {
  ByteSpan orchestration;
  std::vector<KernelSource> kernels;
  std::string name;  // at most CHIPRT_IMAGE_NAME_BYTES - 1 bytes
};

// Packs an image. Fails with invalid_argument on an empty orchestration or kernel, a duplicate
// func_id, too many kernels, or a name that is too long; the ELF checks are the view's job.
Result<Bytes> write_image(const ImageSource& source);

}  // namespace chiprt

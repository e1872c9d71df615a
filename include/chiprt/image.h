// Callable images: writing them and reading them through a validated view.
//
// Contract: ImageView::parse is the only way chiprt reads an image. It checks, before anything
// is allocated: magic, major version, every size, offset and length (overflow-safe), 64-byte
// alignment, that no child overlaps the orchestration or another child, unique func_ids, valid
// core types, zero resolved addresses, the optional signature section (in range, aligned, not
// overlapping, valid kinds, dtypes, ranks and flags, unique NUL-terminated names), the optional
// kernel-name table (one entry per kernel, ending the image, aligned, each name valid,
// NUL-terminated and NUL-padded), that the orchestration and every kernel are ELF shared objects
// for this machine (libelf), and the content hash. Each defect class has its own StatusCode
// (image_*). A view borrows the bytes; they must outlive it. All functions here are
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

// One entry of an image's signature: a tensor input, a scalar or an output of the callable.
enum class SignatureKind : uint32_t {
  input = CHIPRT_SIGNATURE_INPUT,
  scalar = CHIPRT_SIGNATURE_SCALAR,
  output = CHIPRT_SIGNATURE_OUTPUT,
};
struct SignatureEntry {
  SignatureKind kind = SignatureKind::input;
  std::string name;       // 1..CHIPRT_IMAGE_SIGNATURE_NAME_BYTES - 1 bytes, no NUL
  uint32_t dtype = 0;     // chiprt_dtype_t for tensors; 0 for scalars
  uint32_t rank = 0;      // 0..CHIPRT_MAX_DIMS for tensors; 0 for scalars and any_rank
  bool any_rank = false;  // tensors only
  bool optional = false;  // inputs and scalars only
  friend bool operator==(const SignatureEntry&, const SignatureEntry&) = default;
};
// Empty means "no signature": the image says nothing about its arguments.
using Signature = std::vector<SignatureEntry>;
// How messages name a kind: "input", "scalar", "output"; and as a phrase: "a tensor input",
// "a scalar", "an output".
std::string_view signature_kind_word(SignatureKind kind) noexcept;
std::string_view signature_kind_phrase(SignatureKind kind) noexcept;

// "f32", "i32", "f16", "i64", "u8"; "dtype N" for an unknown one.
std::string dtype_name(uint32_t dtype);
Result<uint32_t> parse_dtype(std::string_view name);
// The text form `pack --signature` takes and `inspect` prints:
//   inputs and scalars [-> outputs], comma-separated, each NAME[?]:DTYPE[RANK] for a tensor
//   (RANK a digit 0..4, or * for any rank), NAME[?]:scalar for a scalar; ? marks optional.
//   e.g. "a:f32[2],b:f32[2],tile?:scalar -> f:f32[2]"
Result<Signature> parse_signature(std::string_view text);
std::string format_signature(const Signature& signature);
std::string format_signature_entry(const SignatureEntry& entry);  // "a:f32[2]", "tile?:scalar"
// Checks what the image format requires of a signature (names, dtypes, ranks, flags, count);
// invalid_argument naming the first offending entry.
Status check_signature(const Signature& signature);

// Kernel names (image format 1.2): 1..CHIPRT_IMAGE_KERNEL_NAME_BYTES - 1 bytes, each a letter,
// a digit or one of "_.+-". Kernels of an image without a kernel-name table are called
// "func N" (N the func_id); no stored name looks like that, since a space is not allowed.
std::string default_kernel_name(uint32_t func_id);  // "func N"
// "" when `name` may be stored as a kernel name, else why not (e.g. "has a ':' at byte 3").
std::string kernel_name_defect(std::string_view name);
// The name `pack --kernel ID:CORE:FILE` and Image.pack give a kernel whose name is not given:
// the file name without its last extension, "k" for "dir/k.so", "libfoo" for "libfoo.so".
// invalid_argument when that is not a valid kernel name.
Result<std::string> kernel_name_from_path(std::string_view path);

struct ImageChild {
  uint32_t func_id;
  CoreType core;
  uint64_t offset;
  uint64_t size;
  std::string name;  // from the kernel-name table, or default_kernel_name(func_id) without one
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
  // End of the last code object (the orchestration or a kernel). What follows, the signature
  // section, is host metadata (the host checks arguments against it; nothing on the device reads
  // it), so no device copy holds it.
  uint64_t code_end() const { return code_end_; }
  // The signature section (version 1.1), empty when the image has none.
  const Signature& signature() const { return signature_; }
  uint64_t signature_offset() const { return header_.signature_offset; }
  uint64_t signature_size() const { return header_.signature_size; }
  // The kernel-name table (version 1.2): 0 bytes when the image has none. Its offset is
  // size() - kernel_names_size().
  uint64_t kernel_names_size() const { return header_.kernel_names_size; }

 private:
  ImageView() = default;
  ByteSpan bytes_;
  chiprt_image_header_t header_{};
  ImageHash content_hash_;
  std::vector<ImageChild> children_;
  uint64_t kernels_begin_ = 0;
  uint64_t code_end_ = 0;
  Signature signature_;
};

struct KernelSource {
  uint32_t func_id;
  CoreType core;
  ByteSpan shared_object;
  std::string name = {};  // optional; when one kernel has a name, every kernel needs one
};

struct ImageSource {
  ByteSpan orchestration;
  std::vector<KernelSource> kernels;
  std::string name;          // at most CHIPRT_IMAGE_NAME_BYTES - 1 bytes
  Signature signature = {};  // optional: written as the signature section after the kernels
};

// Packs an image (version 1.2), with a kernel-name table when the kernels are named. Fails with
// invalid_argument on an empty orchestration or kernel, a duplicate func_id, too many kernels, a
// name that is too long, a kernel name kernel_name_defect rejects, named and unnamed kernels
// together, or a signature that check_signature rejects; the ELF checks are the view's job.
Result<Bytes> write_image(const ImageSource& source);

}  // namespace chiprt

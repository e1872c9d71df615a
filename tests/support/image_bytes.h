// Byte-level access to callable images for tests and the fuzz target: reading and editing the
// header and child table in place, re-stamping the content hash after an edit, and a minimal
// ELF shared object that passes the view's ELF check without being loadable code.
#pragma once

#include <cstdint>
#include <cstring>

#include "chiprt/abi/image_format.h"
#include "chiprt/bytes.h"

namespace chiprt::test {

chiprt_image_header_t read_header(ByteSpan image);
chiprt_image_child_t read_child(ByteSpan image, uint32_t index);
// Byte offset of child `index` in the child table.
constexpr uint64_t child_offset_in_image(uint32_t index) {
  return sizeof(chiprt_image_header_t) + uint64_t{index} * sizeof(chiprt_image_child_t);
}

// Applies `edit` to a copy of the header (or of one child) and writes it back.
template <typename Edit>
void edit_header(Bytes& image, Edit edit) {
  chiprt_image_header_t header = read_header(image);
  edit(header);
  std::memcpy(image.data(), &header, sizeof header);
}
template <typename Edit>
void edit_child(Bytes& image, uint32_t index, Edit edit) {
  chiprt_image_child_t child = read_child(image, index);
  edit(child);
  std::memcpy(image.data() + child_offset_in_image(index), &child, sizeof child);
}

// Recomputes content_hash from scratch: XXH3-128 (seed 0) of bytes [24, end), stored in
// libxxhash's canonical (big-endian) form. Images shorter than the hashed offset are left alone.
void restamp_content_hash(Bytes& image);

// A 64-bit little-endian ELF header for this machine with a PT_LOAD program header covering the
// whole object, a PT_DYNAMIC holding only DT_NULL and a non-executable PT_GNU_STACK, padded with
// `fill` to `size` bytes (at least 248).
Bytes minimal_shared_object(size_t size, uint8_t fill);

}  // namespace chiprt::test

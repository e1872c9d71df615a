// Helpers shared by the image writer and the validated view.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "chiprt/abi/image_format.h"
#include "chiprt/image.h"

namespace chiprt::format {

inline uint64_t header_bytes_for(uint64_t child_count) {
  return align_up(sizeof(chiprt_image_header_t) + child_count * sizeof(chiprt_image_child_t),
                  CHIPRT_IMAGE_ALIGN);
}

// content_hash holds the XXH128 canonical form: high half then low half, each big-endian.
inline void store_hash(uint8_t out[16], const ImageHash& hash) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(hash.high >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(hash.low >> (56 - 8 * i));
  }
}

inline ImageHash load_hash(const uint8_t in[16]) {
  ImageHash hash;
  for (int i = 0; i < 8; ++i) {
    hash.high = (hash.high << 8) | in[i];
    hash.low = (hash.low << 8) | in[8 + i];
  }
  return hash;
}

inline ImageHash content_hash_of(ByteSpan image) {
  return hash_bytes(image.subspan(CHIPRT_IMAGE_HASHED_FROM));
}

// What the format requires of a signature entry / a whole signature: "" when it is valid, else
// the defect (the entry's part of a message, e.g. "has rank 5 (0..4)").
std::string signature_entry_defect(const SignatureEntry& entry);
std::string signature_defect(const Signature& signature);

chiprt_image_signature_entry_t encode_signature_entry(const SignatureEntry& entry);
// Checks the raw fields (kind, flags, NUL-terminated NUL-padded name); image_invalid_field
// naming entry `index` otherwise. The decoded entry's dtype and rank are checked separately.
Result<SignatureEntry> decode_signature_entry(const chiprt_image_signature_entry_t& raw,
                                              size_t index);

// One kernel-name table entry, checked as the format requires (NUL-terminated, NUL-padded, a
// valid kernel name); image_invalid_field naming entry `index` and its func_id otherwise.
Result<std::string> decode_kernel_name(const char (&raw)[CHIPRT_IMAGE_KERNEL_NAME_BYTES],
                                       size_t index, uint32_t func_id);

}  // namespace chiprt::format

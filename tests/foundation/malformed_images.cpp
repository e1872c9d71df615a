#include "malformed_images.h"

#include <elf.h>

#include <limits>
#include <stdexcept>

#include "chiprt/abi/image_format.h"
#include "support/image_bytes.h"
#include "test_support.h"

namespace chiprt::test {
namespace {

using Edit = std::function<void(Bytes&)>;

// Offset of the first padding byte between two regions (after the child table, after the
// orchestration or after a kernel); the vector image has such gaps.
uint64_t first_gap_after_storage_region(const Bytes& image) {
  const chiprt_image_header_t header = read_header(image);
  uint64_t end = header.orch_offset + header.orch_size;
  for (uint32_t i = 0; i < header.child_count; ++i) {
    const chiprt_image_child_t child = read_child(image, i);
    if (child.offset > end) return end;
    end = child.offset + child.size;
  }
  throw std::logic_error("the base image has no padding between regions");
}

void poke_orchestration(Bytes& image, uint64_t at, ByteSpan bytes) {
  const uint64_t orch_offset = read_header(image).orch_offset;
  std::memcpy(image.data() + orch_offset + at, bytes.data(), bytes.size());
}

template <typename T>
ByteSpan bytes_of(const T& value) {
  return {reinterpret_cast<const std::byte*>(&value), sizeof value};
}

struct Case {
  std::string name;
  StatusCode expected;
  Edit edit;
  bool restamp = true;  // re-stamp the content hash after the edit
};

std::vector<Case> cases() {
  using C = StatusCode;
  const auto header = [](auto change) {
    return [change](Bytes& image) { edit_header(image, change); };
  };
  const auto child = [](uint32_t index, auto change) {
    return [index, change](Bytes& image) { edit_child(image, index, change); };
  };
  return {
      {"empty", C::image_truncated, [](Bytes& image) { image.clear(); }, false},
      {"shorter_than_magic", C::image_truncated, [](Bytes& image) { image.resize(3); }, false},
      {"shorter_than_header", C::image_truncated, [](Bytes& image) { image.resize(100); }},
      {"tail_cut", C::image_truncated, [](Bytes& image) { image.pop_back(); }},
      {"bad_magic", C::image_bad_magic, [](Bytes& image) { image[0] = std::byte{'X'}; }},
      {"unknown_major_version", C::image_unsupported_version,
       header([](chiprt_image_header_t& h) { h.version_major = CHIPRT_IMAGE_VERSION_MAJOR + 1; })},
      {"trailing_byte", C::image_size_mismatch,
       [](Bytes& image) { image.push_back(std::byte{0}); }},
      {"header_size_disagrees", C::image_size_mismatch,
       header([](chiprt_image_header_t& h) { h.header_size += CHIPRT_IMAGE_ALIGN; })},
      {"child_count_max_uint32", C::image_child_count_overflow,
       header(
           [](chiprt_image_header_t& h) { h.child_count = std::numeric_limits<uint32_t>::max(); })},
      {"child_count_above_limit", C::image_child_count_overflow,
       header([](chiprt_image_header_t& h) { h.child_count = CHIPRT_IMAGE_MAX_CHILDREN + 1; })},
      {"child_table_beyond_image", C::image_child_count_overflow,
       header([](chiprt_image_header_t& h) { h.child_count = CHIPRT_IMAGE_MAX_CHILDREN; })},
      {"orchestration_beyond_image", C::image_out_of_range,
       header([](chiprt_image_header_t& h) { h.orch_size = h.total_size; })},
      {"orchestration_size_wraps", C::image_out_of_range, header([](chiprt_image_header_t& h) {
         h.orch_size = std::numeric_limits<uint64_t>::max();
       })},
      {"child_beyond_image", C::image_out_of_range,
       child(2, [](chiprt_image_child_t& c) { c.size += CHIPRT_IMAGE_ALIGN; })},
      {"child_offset_wraps", C::image_out_of_range,
       child(
           0,
           [](chiprt_image_child_t& c) { c.offset = std::numeric_limits<uint64_t>::max() - 63; })},
      {"child_empty", C::image_out_of_range, child(1, [](chiprt_image_child_t& c) { c.size = 0; })},
      {"child_misaligned", C::image_misaligned,
       child(0,
             [](chiprt_image_child_t& c) {
               c.offset += 1;
               c.size -= 1;
             })},
      {"orchestration_misaligned", C::image_misaligned, header([](chiprt_image_header_t& h) {
         h.orch_offset += 1;
         h.orch_size -= 1;
       })},
      {"orchestration_over_header", C::image_overlap,
       header([](chiprt_image_header_t& h) { h.orch_offset -= CHIPRT_IMAGE_ALIGN; })},
      {"child_over_orchestration", C::image_overlap,
       [](Bytes& image) {
         const uint64_t orch_offset = read_header(image).orch_offset;
         edit_child(image, 0, [&](chiprt_image_child_t& c) { c.offset = orch_offset; });
       }},
      {"child_over_child", C::image_overlap,
       [](Bytes& image) {
         const uint64_t first = read_child(image, 0).offset;
         edit_child(image, 1,
                    [&](chiprt_image_child_t& c) { c.offset = first + CHIPRT_IMAGE_ALIGN; });
       }},
      {"orchestration_not_elf", C::image_bad_elf,
       [](Bytes& image) { poke_orchestration(image, 0, as_bytes("JUNK")); }},
      {"orchestration_wrong_machine", C::image_bad_elf,
       [](Bytes& image) {
         const uint16_t machine = EM_S390;
         poke_orchestration(image, offsetof(Elf64_Ehdr, e_machine), bytes_of(machine));
       }},
      {"orchestration_not_et_dyn", C::image_bad_elf,
       [](Bytes& image) {
         const uint16_t type = ET_EXEC;
         poke_orchestration(image, offsetof(Elf64_Ehdr, e_type), bytes_of(type));
       }},
      {"orchestration_big_endian", C::image_bad_elf,
       [](Bytes& image) { poke_orchestration(image, EI_DATA, bytes_of(uint8_t{ELFDATA2MSB})); }},
      {"orchestration_no_program_headers", C::image_bad_elf,
       [](Bytes& image) {
         const uint16_t none = 0;
         poke_orchestration(image, offsetof(Elf64_Ehdr, e_phnum), bytes_of(none));
       }},
      {"orchestration_segment_beyond_object", C::image_bad_elf,
       [](Bytes& image) {
         Elf64_Ehdr ehdr;
         const uint64_t orch_offset = read_header(image).orch_offset;
         std::memcpy(&ehdr, image.data() + orch_offset, sizeof ehdr);
         const uint64_t huge = uint64_t{1} << 40;
         poke_orchestration(image, ehdr.e_phoff + offsetof(Elf64_Phdr, p_filesz), bytes_of(huge));
       }},
      {"orchestration_32_bit", C::image_bad_elf,
       [](Bytes& image) { poke_orchestration(image, EI_CLASS, bytes_of(uint8_t{ELFCLASS32})); }},
      {"kernel_not_elf", C::image_bad_elf,
       [](Bytes& image) {
         const uint64_t at = read_child(image, 1).offset;
         std::memset(image.data() + at, 0, 4);
       }},
      {"hash_field_flipped", C::image_hash_mismatch,
       [](Bytes& image) { image[offsetof(chiprt_image_header_t, content_hash)] ^= std::byte{1}; },
       false},
      {"orchestration_byte_flipped", C::image_hash_mismatch,
       [](Bytes& image) {
         const chiprt_image_header_t h = read_header(image);
         image[h.orch_offset + h.orch_size / 2] ^= std::byte{0x40};
       },
       false},
      {"name_changed_without_rehash", C::image_hash_mismatch,
       header([](chiprt_image_header_t& h) { h.name[0] ^= 1; }), false},
      {"nonzero_header_padding", C::image_invalid_field,
       [](Bytes& image) {
         image[child_offset_in_image(read_header(image).child_count)] = std::byte{1};
       }},
      {"nonzero_storage_padding", C::image_invalid_field,
       [](Bytes& image) { image[first_gap_after_storage_region(image)] = std::byte{1}; }},
      {"bad_core_type", C::image_invalid_field,
       child(0, [](chiprt_image_child_t& c) { c.core_type = 2; })},
      {"resolved_address_set", C::image_invalid_field,
       child(1, [](chiprt_image_child_t& c) { c.resolved_device_addr = 0x1000; })},
      {"duplicate_func_id", C::image_invalid_field,
       child(1, [](chiprt_image_child_t& c) { c.func_id = 1; })},
      {"empty_orchestration", C::image_invalid_field,
       header([](chiprt_image_header_t& h) { h.orch_size = 0; })},
      {"flags_set", C::image_invalid_field, header([](chiprt_image_header_t& h) { h.flags = 1; })},
      {"reserved_set", C::image_invalid_field,
       header([](chiprt_image_header_t& h) { h.reserved[15] = 1; })},
  };
}

}  // namespace

std::vector<MalformedImage> malformed_images() {
  const Bytes valid = vector_image("malformed-base");
  std::vector<MalformedImage> out;
  for (const Case& c : cases()) {
    Bytes bytes = valid;
    c.edit(bytes);
    if (c.restamp) restamp_content_hash(bytes);
    out.push_back({c.name, c.expected, std::move(bytes)});
  }
  return out;
}

std::string malformed_image_name(const testing::TestParamInfo<MalformedImage>& info) {
  return info.param.name;
}

void PrintTo(const MalformedImage& image, std::ostream* os) {
  *os << image.name;
}

}  // namespace chiprt::test

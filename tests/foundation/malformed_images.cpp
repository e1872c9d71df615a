#include "malformed_images.h"

#include <elf.h>
#include <fmt/format.h>

#include <cstring>
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

// The ELF object an edit targets: the orchestration, or the kernel at child `index`.
struct Object {
  bool kernel = false;
  uint32_t index = 0;
};
constexpr Object kOrchestration{};
constexpr Object kernel(uint32_t index) {
  return {true, index};
}

uint64_t object_offset(const Bytes& image, Object object) {
  return object.kernel ? read_child(image, object.index).offset : read_header(image).orch_offset;
}

template <typename T>
T read_at(const Bytes& image, uint64_t at) {
  if (at > image.size() || sizeof(T) > image.size() - at) {
    throw std::logic_error("read beyond the base image");
  }
  T value;
  std::memcpy(&value, image.data() + at, sizeof value);
  return value;
}
template <typename T>
void write_at(Bytes& image, uint64_t at, const T& value) {
  if (at > image.size() || sizeof(T) > image.size() - at) {
    throw std::logic_error("write beyond the base image");
  }
  std::memcpy(image.data() + at, &value, sizeof value);
}

// Image offset of the first program header of `type` in `object`.
uint64_t phdr_offset(const Bytes& image, Object object, uint32_t type) {
  const uint64_t base = object_offset(image, object);
  const auto ehdr = read_at<Elf64_Ehdr>(image, base);
  for (uint32_t i = 0; i < ehdr.e_phnum; ++i) {
    const uint64_t at = base + ehdr.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr);
    if (read_at<Elf64_Phdr>(image, at).p_type == type) return at;
  }
  throw std::logic_error("the base object lacks a program header of the type to edit");
}

template <typename Change>
Edit edit_phdr(Object object, uint32_t type, Change change) {
  return [=](Bytes& image) {
    const uint64_t at = phdr_offset(image, object, type);
    auto phdr = read_at<Elf64_Phdr>(image, at);
    change(phdr);
    write_at(image, at, phdr);
  };
}

// Image offsets of the entries of `object`'s dynamic section, up to its end (past DT_NULL).
std::vector<uint64_t> dynamic_entries(const Bytes& image, Object object) {
  const uint64_t base = object_offset(image, object);
  const auto dynamic = read_at<Elf64_Phdr>(image, phdr_offset(image, object, PT_DYNAMIC));
  std::vector<uint64_t> entries;
  for (uint64_t i = 0; i < dynamic.p_filesz / sizeof(Elf64_Dyn); ++i) {
    entries.push_back(base + dynamic.p_offset + i * sizeof(Elf64_Dyn));
  }
  return entries;
}

template <typename Change>
Edit edit_dynamic(Object object, int64_t tag, Change change) {
  return [=](Bytes& image) {
    for (const uint64_t at : dynamic_entries(image, object)) {
      auto entry = read_at<Elf64_Dyn>(image, at);
      if (entry.d_tag != tag) continue;
      change(entry);
      write_at(image, at, entry);
      return;
    }
    throw std::logic_error("the base object lacks the dynamic entry to edit");
  };
}

// Adds `added` to `object`'s dynamic section by rewriting its DT_NULL terminator, which must be
// followed by spare DT_NULL entries (the linker leaves some).
Edit add_dynamic(Object object, Elf64_Dyn added) {
  return [=](Bytes& image) {
    const std::vector<uint64_t> entries = dynamic_entries(image, object);
    for (size_t i = 0; i + 1 < entries.size(); ++i) {
      if (read_at<Elf64_Dyn>(image, entries[i]).d_tag != DT_NULL) continue;
      if (read_at<Elf64_Dyn>(image, entries[i + 1]).d_tag != DT_NULL) break;
      write_at(image, entries[i], added);
      return;
    }
    throw std::logic_error("the base object has no spare DT_NULL entry");
  };
}

// File offset in `object` of its virtual address `vaddr`.
uint64_t file_offset_of(const Bytes& image, Object object, uint64_t vaddr) {
  const uint64_t base = object_offset(image, object);
  const auto ehdr = read_at<Elf64_Ehdr>(image, base);
  for (uint32_t i = 0; i < ehdr.e_phnum; ++i) {
    const auto phdr =
        read_at<Elf64_Phdr>(image, base + ehdr.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr));
    if (phdr.p_type == PT_LOAD && vaddr >= phdr.p_vaddr && vaddr - phdr.p_vaddr < phdr.p_filesz) {
      return phdr.p_offset + (vaddr - phdr.p_vaddr);
    }
  }
  throw std::logic_error("address outside the base object's loadable segments");
}

constexpr uint64_t kFarAway = uint64_t{1} << 40;

struct Case {
  std::string name;
  StatusCode expected;
  Edit edit;
  bool restamp = true;  // re-stamp the content hash after the edit
  std::vector<std::string> mentions = {};
  bool signed_base = false;  // edit the vector image packed with its signature
  bool named_base = false;   // edit the signed vector image with kernel names (format 1.2)
};

// Applies `change` to signature entry `index` of a signed image.
template <typename Change>
Edit edit_entry(uint32_t index, Change change) {
  return [=](Bytes& image) {
    const uint64_t at = read_header(image).signature_offset +
                        uint64_t{index} * sizeof(chiprt_image_signature_entry_t);
    auto entry = read_at<chiprt_image_signature_entry_t>(image, at);
    change(entry);
    write_at(image, at, entry);
  };
}

// The signature section's cases, on the signed vector image (entries a, b, tile, f).
std::vector<Case> signature_cases() {
  using C = StatusCode;
  using H = chiprt_image_header_t;
  using E = chiprt_image_signature_entry_t;
  const auto header = [](auto change) {
    return [change](Bytes& image) { edit_header(image, change); };
  };
  std::vector<Case> out = {
      {"signature_beyond_image", C::image_out_of_range,
       header([](H& h) { h.signature_size += sizeof(E); })},
      {"signature_offset_wraps", C::image_out_of_range,
       header([](H& h) { h.signature_offset = std::numeric_limits<uint64_t>::max() - 63; })},
      {"signature_size_not_whole_entries", C::image_size_mismatch,
       header([](H& h) { h.signature_size -= 1; })},
      {"signature_offset_without_size", C::image_size_mismatch,
       header([](H& h) { h.signature_size = 0; })},
      {"signature_too_many_entries", C::image_invalid_field, header([](H& h) {
         h.signature_size = (CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES + 1) * sizeof(E);
       })},
      {"signature_misaligned", C::image_misaligned, header([](H& h) {
         h.signature_offset += 1;
         h.signature_size -= sizeof(E);
       })},
      {"signature_over_header", C::image_overlap, header([](H& h) { h.signature_offset = 0; })},
      {"signature_over_orchestration", C::image_overlap,
       header([](H& h) { h.signature_offset = h.orch_offset; })},
      {"signature_over_kernel", C::image_overlap,
       [](Bytes& image) {
         const uint64_t kernel = read_child(image, 2).offset;
         edit_header(image, [&](H& h) { h.signature_offset = kernel; });
       }},
      {"signature_in_version_1_0", C::image_invalid_field,
       header([](H& h) { h.version_minor = 0; })},
      {"signature_bad_kind", C::image_invalid_field, edit_entry(0, [](E& e) { e.kind = 0; })},
      {"signature_unknown_kind", C::image_invalid_field, edit_entry(3, [](E& e) { e.kind = 4; })},
      {"signature_unknown_dtype", C::image_invalid_field,
       edit_entry(1, [](E& e) { e.dtype = CHIPRT_DTYPE_U8 + 1; })},
      {"signature_rank_above_max", C::image_invalid_field,
       edit_entry(0,
                  [](E& e) {
                    e.flags = 0;
                    e.rank = CHIPRT_MAX_DIMS + 1;
                  })},
      {"signature_any_rank_with_rank", C::image_invalid_field,
       edit_entry(0, [](E& e) { e.rank = 2; })},
      {"signature_unknown_flags", C::image_invalid_field,
       edit_entry(1, [](E& e) { e.flags |= 4; })},
      {"signature_scalar_with_rank", C::image_invalid_field,
       edit_entry(2, [](E& e) { e.rank = 1; })},
      {"signature_scalar_with_dtype", C::image_invalid_field,
       edit_entry(2, [](E& e) { e.dtype = CHIPRT_DTYPE_I32; })},
      {"signature_optional_output", C::image_invalid_field,
       edit_entry(3, [](E& e) { e.flags |= CHIPRT_SIGNATURE_OPTIONAL; })},
      {"signature_name_unterminated", C::image_invalid_field,
       edit_entry(0, [](E& e) { std::memset(e.name, 'x', sizeof e.name); })},
      {"signature_name_not_nul_padded", C::image_invalid_field,
       edit_entry(1, [](E& e) { e.name[sizeof e.name - 1 - 8] = 'x'; })},
      {"signature_name_empty", C::image_invalid_field,
       edit_entry(2, [](E& e) { std::memset(e.name, 0, sizeof e.name); })},
      {"signature_duplicate_name", C::image_invalid_field,
       edit_entry(1, [](E& e) { std::strcpy(e.name, "a"); })},
      {"signature_byte_flipped_without_rehash", C::image_hash_mismatch,
       edit_entry(3, [](E& e) { e.name[0] = 'g'; }), false},
  };
  for (Case& c : out) {
    if (c.mentions.empty() && c.expected != C::image_hash_mismatch) {
      c.mentions = {c.name == "signature_in_version_1_0" ? "reserved" : "signature"};
    }
    c.signed_base = true;
  }
  return out;
}

// Sets kernel-name table entry `index` of a named image to `raw` (all 48 bytes).
Edit set_kernel_name(uint32_t index, std::string raw) {
  raw.resize(CHIPRT_IMAGE_KERNEL_NAME_BYTES, '\0');
  return [=](Bytes& image) {
    const chiprt_image_header_t h = read_header(image);
    const uint64_t at =
        h.total_size - h.kernel_names_size + uint64_t{index} * CHIPRT_IMAGE_KERNEL_NAME_BYTES;
    for (size_t i = 0; i < raw.size(); ++i) write_at(image, at + i, raw[i]);
  };
}

// The kernel-name table's cases, on the named vector image: header, orchestration, kernels
// kernel_add (1), kernel_add_scalar (2), kernel_mul (3), the signature (4 entries, ending
// aligned), then the table of 3 entries ending the image.
std::vector<Case> kernel_name_cases() {
  using C = StatusCode;
  using H = chiprt_image_header_t;
  constexpr uint32_t kEntry = CHIPRT_IMAGE_KERNEL_NAME_BYTES;
  const auto header = [](auto change) {
    return [change](Bytes& image) { edit_header(image, change); };
  };
  std::vector<Case> out = {
      {"kernel_names_one_entry_short", C::image_size_mismatch,
       header([](H& h) { h.kernel_names_size -= kEntry; })},
      {"kernel_names_one_entry_extra", C::image_size_mismatch,
       header([](H& h) { h.kernel_names_size += kEntry; })},
      {"kernel_names_not_whole_entries", C::image_size_mismatch,
       header([](H& h) { h.kernel_names_size -= 1; })},
      {"kernel_names_size_beyond_uint32_entries", C::image_size_mismatch,
       header([](H& h) { h.kernel_names_size = std::numeric_limits<uint32_t>::max(); })},
      {"kernel_names_in_version_1_1", C::image_invalid_field,
       header([](H& h) { h.version_minor = 1; })},
      {"kernel_names_misaligned", C::image_misaligned,
       [](Bytes& image) {
         const H h = read_header(image);
         const auto table = static_cast<ptrdiff_t>(h.total_size - h.kernel_names_size);
         image.insert(image.begin() + table, 8, std::byte{0});
         edit_header(image, [](H& e) { e.total_size += 8; });
       }},
      {"kernel_names_over_signature", C::image_overlap,
       header([](H& h) { h.signature_size += sizeof(chiprt_image_signature_entry_t); })},
  };
  for (Case& c : out)
    c.mentions = {c.name == "kernel_names_in_version_1_1" ? "reserved" : "kernel-name table"};
  // Entries of the table (func_ids 1, 2, 3 in entries 0, 1, 2), each an image_invalid_field
  // naming the entry and its func_id.
  const auto entry = [](std::string name, uint32_t index, std::string raw) {
    return Case{std::move(name),
                C::image_invalid_field,
                set_kernel_name(index, std::move(raw)),
                true,
                {fmt::format("kernel-name entry {} (func_id {})", index, index + 1)}};
  };
  out.push_back(entry("kernel_name_unterminated", 0, std::string(kEntry, 'x')));
  out.push_back(
      entry("kernel_name_not_nul_padded", 1, std::string("kernel_add_scalar\0\0\0x", 21)));
  out.push_back(entry("kernel_name_empty", 2, ""));
  out.push_back(entry("kernel_name_with_space", 0, "func 1"));
  out.push_back(entry("kernel_name_with_colon", 1, "add:scalar"));
  out.push_back(entry("kernel_name_not_ascii", 2, "m\xc3\xbcl"));
  out.push_back(entry("kernel_name_control_byte", 2, "mul\n"));
  out.push_back({"kernel_name_changed_without_rehash", C::image_hash_mismatch,
                 set_kernel_name(0, "adx"), false});
  for (Case& c : out) c.named_base = true;
  return out;
}

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
      {"orchestration_gnu_hash_beyond_object",
       C::image_bad_dynamic,
       edit_dynamic(kOrchestration, DT_GNU_HASH, [](Elf64_Dyn& d) { d.d_un.d_ptr = kFarAway; }),
       true,
       {"orchestration", "DT_GNU_HASH"}},
      {"kernel_string_table_too_long",
       C::image_bad_dynamic,
       edit_dynamic(kernel(0), DT_STRSZ, [](Elf64_Dyn& d) { d.d_un.d_val = kFarAway; }),
       true,
       {"kernel func_id 1", "DT_STRTAB"}},
      {"kernel_init_array_beyond_object",
       C::image_bad_dynamic,
       edit_dynamic(kernel(2), DT_INIT_ARRAYSZ, [](Elf64_Dyn& d) { d.d_un.d_val = kFarAway; }),
       true,
       {"kernel func_id 3", "DT_INIT_ARRAY"}},
      {"orchestration_relocation_into_code",
       C::image_bad_dynamic,
       [](Bytes& image) {
         Elf64_Dyn rela{};
         edit_dynamic(kOrchestration, DT_RELA, [&](Elf64_Dyn& d) { rela = d; })(image);
         const uint64_t at = object_offset(image, kOrchestration) +
                             file_offset_of(image, kOrchestration, rela.d_un.d_ptr);
         auto first = read_at<Elf64_Rela>(image, at);
         first.r_offset = read_header(image).orch_size / 2;  // in the read-only code
         write_at(image, at, first);
       },
       true,
       {"orchestration", "DT_RELA"}},
      {"orchestration_dynamic_beyond_object",
       C::image_bad_dynamic,
       edit_phdr(kOrchestration, PT_DYNAMIC, [](Elf64_Phdr& p) { p.p_offset = kFarAway; }),
       true,
       {"orchestration", "PT_DYNAMIC"}},
      {"orchestration_dynamic_outside_segments",
       C::image_bad_dynamic,
       edit_phdr(kOrchestration, PT_DYNAMIC, [](Elf64_Phdr& p) { p.p_vaddr += kFarAway; }),
       true,
       {"orchestration", "PT_DYNAMIC"}},
      {"orchestration_dynamic_unterminated",
       C::image_bad_dynamic,
       [](Bytes& image) {
         for (const uint64_t at : dynamic_entries(image, kOrchestration)) {
           auto entry = read_at<Elf64_Dyn>(image, at);
           if (entry.d_tag == DT_NULL) entry.d_tag = DT_DEBUG;
           write_at(image, at, entry);
         }
       },
       true,
       {"orchestration", "DT_NULL"}},
      {"orchestration_text_relocations",
       C::image_text_relocations,
       add_dynamic(kOrchestration, Elf64_Dyn{DT_TEXTREL, {0}}),
       true,
       {"orchestration", "DT_TEXTREL"}},
      {"kernel_textrel_flag",
       C::image_text_relocations,
       add_dynamic(kernel(1), Elf64_Dyn{DT_FLAGS, {DF_TEXTREL}}),
       true,
       {"kernel func_id 2", "DF_TEXTREL"}},
      {"orchestration_interpreter",
       C::image_has_interpreter,
       edit_phdr(kOrchestration, PT_NOTE, [](Elf64_Phdr& p) { p.p_type = PT_INTERP; }),
       true,
       {"orchestration", "PT_INTERP"}},
      {"orchestration_executable_stack",
       C::image_executable_stack,
       edit_phdr(kOrchestration, PT_GNU_STACK, [](Elf64_Phdr& p) { p.p_flags |= PF_X; }),
       true,
       {"orchestration", "PT_GNU_STACK"}},
      {"kernel_without_stack_header",
       C::image_executable_stack,
       edit_phdr(kernel(0), PT_GNU_STACK, [](Elf64_Phdr& p) { p.p_type = PT_NULL; }),
       true,
       {"kernel func_id 1", "PT_GNU_STACK"}},
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
      {"reserved_kernel_names_size_in_version_1_1",
       C::image_invalid_field,
       header([](chiprt_image_header_t& h) {
         h.version_minor = 1;
         h.kernel_names_size = 3 * CHIPRT_IMAGE_KERNEL_NAME_BYTES;
       }),
       true,
       {"reserved"}},
  };
}

}  // namespace

std::vector<MalformedImage> malformed_images() {
  const Bytes valid = vector_image("malformed-base");
  const Bytes valid_signed = signed_vector_image("malformed-base");
  const Bytes valid_named = named_vector_image("malformed-base");
  std::vector<Case> all = cases();
  for (Case& c : signature_cases()) all.push_back(std::move(c));
  for (Case& c : kernel_name_cases()) all.push_back(std::move(c));
  std::vector<MalformedImage> out;
  for (const Case& c : all) {
    Bytes bytes = c.named_base ? valid_named : c.signed_base ? valid_signed : valid;
    c.edit(bytes);
    if (c.restamp) restamp_content_hash(bytes);
    out.push_back({c.name, c.expected, std::move(bytes), c.mentions});
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

#include "support/image_bytes.h"

#include <elf.h>
#include <xxhash.h>

#include <algorithm>
#include <stdexcept>

namespace chiprt::test {

chiprt_image_header_t read_header(ByteSpan image) {
  if (image.size() < sizeof(chiprt_image_header_t)) throw std::out_of_range("no image header");
  chiprt_image_header_t header;
  std::memcpy(&header, image.data(), sizeof header);
  return header;
}

chiprt_image_child_t read_child(ByteSpan image, uint32_t index) {
  const uint64_t at = child_offset_in_image(index);
  if (image.size() < at + sizeof(chiprt_image_child_t)) throw std::out_of_range("no such child");
  chiprt_image_child_t child;
  std::memcpy(&child, image.data() + at, sizeof child);
  return child;
}

void restamp_content_hash(Bytes& image) {
  if (image.size() < CHIPRT_IMAGE_HASHED_FROM) return;
  const XXH128_hash_t hash = XXH3_128bits(image.data() + CHIPRT_IMAGE_HASHED_FROM,
                                          image.size() - CHIPRT_IMAGE_HASHED_FROM);
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  static_assert(sizeof canonical.digest == sizeof(chiprt_image_header_t::content_hash));
  std::memcpy(image.data() + offsetof(chiprt_image_header_t, content_hash), canonical.digest,
              sizeof canonical.digest);
}

Bytes minimal_shared_object(size_t size, uint8_t fill) {
  constexpr size_t kPhnum = 3;
  constexpr size_t kDynamicAt = sizeof(Elf64_Ehdr) + kPhnum * sizeof(Elf64_Phdr);
  constexpr size_t kHeaders = kDynamicAt + sizeof(Elf64_Dyn);
  size = std::max(size, kHeaders);
  Bytes object(size, std::byte{fill});
  Elf64_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS64;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_ident[EI_VERSION] = EV_CURRENT;
  ehdr.e_type = ET_DYN;
#if defined(__x86_64__)
  ehdr.e_machine = EM_X86_64;
#elif defined(__aarch64__)
  ehdr.e_machine = EM_AARCH64;
#endif
  ehdr.e_version = EV_CURRENT;
  ehdr.e_phoff = sizeof(Elf64_Ehdr);
  ehdr.e_ehsize = sizeof(Elf64_Ehdr);
  ehdr.e_phentsize = sizeof(Elf64_Phdr);
  ehdr.e_phnum = kPhnum;
  Elf64_Phdr phdrs[kPhnum]{};
  phdrs[0].p_type = PT_LOAD;
  phdrs[0].p_flags = PF_R;
  phdrs[0].p_filesz = size;
  phdrs[0].p_memsz = size;
  phdrs[0].p_align = 0x1000;
  phdrs[1].p_type = PT_DYNAMIC;  // a dynamic section holding only its DT_NULL terminator
  phdrs[1].p_flags = PF_R;
  phdrs[1].p_offset = phdrs[1].p_vaddr = phdrs[1].p_paddr = kDynamicAt;
  phdrs[1].p_filesz = phdrs[1].p_memsz = sizeof(Elf64_Dyn);
  phdrs[1].p_align = 8;
  phdrs[2].p_type = PT_GNU_STACK;
  phdrs[2].p_flags = PF_R | PF_W;
  phdrs[2].p_align = 16;
  const Elf64_Dyn terminator{};
  std::memcpy(object.data(), &ehdr, sizeof ehdr);
  std::memcpy(object.data() + sizeof ehdr, phdrs, sizeof phdrs);
  std::memcpy(object.data() + kDynamicAt, &terminator, sizeof terminator);
  return object;
}

}  // namespace chiprt::test

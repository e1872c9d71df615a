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
  constexpr size_t kHeaders = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
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
  ehdr.e_phnum = 1;
  Elf64_Phdr phdr{};
  phdr.p_type = PT_LOAD;
  phdr.p_flags = PF_R;
  phdr.p_filesz = size;
  phdr.p_memsz = size;
  phdr.p_align = 0x1000;
  std::memcpy(object.data(), &ehdr, sizeof ehdr);
  std::memcpy(object.data() + sizeof ehdr, &phdr, sizeof phdr);
  return object;
}

}  // namespace chiprt::test

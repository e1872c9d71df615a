#include "elf_check.h"

#include <gelf.h>
#include <libelf.h>

#include <fmt/format.h>

#include <memory>
#include <mutex>

namespace chiprt::format {
namespace {

#if defined(__x86_64__)
constexpr int kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kHostMachine = EM_AARCH64;
#else
#error "unsupported host machine"
#endif

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

bool in_range(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace

Status check_shared_object(ByteSpan bytes, std::string_view what) {
  static std::once_flag version_once;
  std::call_once(version_once, [] { elf_version(EV_CURRENT); });
  auto bad = [&](std::string_view why) {
    return Status(StatusCode::image_bad_elf, fmt::format("{} is not an ELF shared object for this "
                                                         "machine: {}", what, why));
  };
  if (bytes.size() < EI_NIDENT) return bad("too short");
  // libelf reads ELF_C_READ_MMAP images in place without writing to them.
  std::unique_ptr<Elf, ElfCloser> elf(
      elf_memory(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())), bytes.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return bad("no ELF header");
  if (gelf_getclass(elf.get()) != ELFCLASS64) return bad("not 64-bit");
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf.get(), &ehdr) == nullptr) return bad("unreadable ELF header");
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) return bad("not little-endian");
  if (ehdr.e_type != ET_DYN) return bad("not a shared object (e_type != ET_DYN)");
  if (ehdr.e_machine != kHostMachine) return bad(fmt::format("e_machine {}", ehdr.e_machine));
  size_t phnum = 0;
  if (elf_getphdrnum(elf.get(), &phnum) != 0 || phnum == 0) return bad("no program headers");
  bool has_load = false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdr) == nullptr) {
      return bad(fmt::format("program header {} is unreadable", i));
    }
    if (phdr.p_type == PT_LOAD) has_load = true;
    if ((phdr.p_type == PT_LOAD || phdr.p_type == PT_DYNAMIC) &&
        !in_range(phdr.p_offset, phdr.p_filesz, bytes.size())) {
      return bad(fmt::format("segment {} lies outside the file", i));
    }
  }
  if (!has_load) return bad("no loadable segment");
  return Status::Ok();
}

}  // namespace chiprt::format

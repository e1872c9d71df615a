#include "format/elf_symbols.h"

#include <gelf.h>
#include <libelf.h>

#include <memory>

namespace chiprt::format {

Result<bool> exports_function(ByteSpan bytes, std::string_view name) {
  elf_version(EV_CURRENT);
  // libelf reads from a mutable buffer; it gets a copy, so the caller's bytes stay untouched.
  Bytes copy(bytes.begin(), bytes.end());
  std::unique_ptr<Elf, int (*)(Elf*)> elf(
      elf_memory(reinterpret_cast<char*>(copy.data()), copy.size()), elf_end);
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return Status(StatusCode::image_bad_elf, "not an ELF object");
  }
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != SHT_DYNSYM) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || shdr.sh_entsize == 0) continue;
    const size_t count = data->d_size / shdr.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
      if (sym.st_shndx == SHN_UNDEF || GELF_ST_TYPE(sym.st_info) != STT_FUNC) continue;
      if (GELF_ST_BIND(sym.st_info) == STB_LOCAL) continue;
      const char* symbol = elf_strptr(elf.get(), shdr.sh_link, sym.st_name);
      if (symbol != nullptr && name == symbol) return true;
    }
  }
  return false;
}

}  // namespace chiprt::format

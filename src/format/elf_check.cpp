#include "elf_check.h"

#include <gelf.h>
#include <libelf.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace chiprt::format {
namespace {

#if defined(__x86_64__)
constexpr int kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr int kHostMachine = EM_AARCH64;
#else
#error "unsupported host machine"
#endif

// Some C libraries' <elf.h> predate RELR; the values are fixed by the gABI.
#ifndef DT_RELRSZ
#define DT_RELRSZ 35
#define DT_RELR 36
#define DT_RELRENT 37
#endif

struct ElfCloser {
  void operator()(Elf* elf) const { elf_end(elf); }
};

bool in_range(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

// a + b and a * b, or nullopt when they do not fit in 64 bits.
std::optional<uint64_t> add(uint64_t a, uint64_t b) {
  uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}
std::optional<uint64_t> mul(uint64_t a, uint64_t b) {
  uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

// The tags the dynamic-section check looks at, by name for messages.
std::string tag_name(int64_t tag) {
  switch (tag) {
    case DT_NULL:
      return "DT_NULL";
    case DT_NEEDED:
      return "DT_NEEDED";
    case DT_PLTRELSZ:
      return "DT_PLTRELSZ";
    case DT_PLTGOT:
      return "DT_PLTGOT";
    case DT_HASH:
      return "DT_HASH";
    case DT_STRTAB:
      return "DT_STRTAB";
    case DT_SYMTAB:
      return "DT_SYMTAB";
    case DT_RELA:
      return "DT_RELA";
    case DT_RELASZ:
      return "DT_RELASZ";
    case DT_RELAENT:
      return "DT_RELAENT";
    case DT_STRSZ:
      return "DT_STRSZ";
    case DT_SYMENT:
      return "DT_SYMENT";
    case DT_INIT:
      return "DT_INIT";
    case DT_FINI:
      return "DT_FINI";
    case DT_SONAME:
      return "DT_SONAME";
    case DT_RPATH:
      return "DT_RPATH";
    case DT_REL:
      return "DT_REL";
    case DT_RELSZ:
      return "DT_RELSZ";
    case DT_RELENT:
      return "DT_RELENT";
    case DT_PLTREL:
      return "DT_PLTREL";
    case DT_TEXTREL:
      return "DT_TEXTREL";
    case DT_JMPREL:
      return "DT_JMPREL";
    case DT_INIT_ARRAY:
      return "DT_INIT_ARRAY";
    case DT_FINI_ARRAY:
      return "DT_FINI_ARRAY";
    case DT_INIT_ARRAYSZ:
      return "DT_INIT_ARRAYSZ";
    case DT_FINI_ARRAYSZ:
      return "DT_FINI_ARRAYSZ";
    case DT_RUNPATH:
      return "DT_RUNPATH";
    case DT_FLAGS:
      return "DT_FLAGS";
    case DT_PREINIT_ARRAY:
      return "DT_PREINIT_ARRAY";
    case DT_PREINIT_ARRAYSZ:
      return "DT_PREINIT_ARRAYSZ";
    case DT_RELRSZ:
      return "DT_RELRSZ";
    case DT_RELR:
      return "DT_RELR";
    case DT_RELRENT:
      return "DT_RELRENT";
    case DT_GNU_HASH:
      return "DT_GNU_HASH";
    case DT_VERSYM:
      return "DT_VERSYM";
    case DT_VERDEF:
      return "DT_VERDEF";
    case DT_VERDEFNUM:
      return "DT_VERDEFNUM";
    case DT_VERNEED:
      return "DT_VERNEED";
    case DT_VERNEEDNUM:
      return "DT_VERNEEDNUM";
    case DT_AUXILIARY:
      return "DT_AUXILIARY";
    case DT_FILTER:
      return "DT_FILTER";
    default:
      return fmt::format("dynamic tag {:#x}", static_cast<uint64_t>(tag));
  }
}

// Tags that name an address, a size or a string and may appear once; every other tag (DT_NEEDED
// and friends aside) is left to the loader.
constexpr std::array kSingleTags = {DT_PLTRELSZ,     DT_PLTGOT,        DT_HASH,
                                    DT_STRTAB,       DT_SYMTAB,        DT_RELA,
                                    DT_RELASZ,       DT_RELAENT,       DT_STRSZ,
                                    DT_SYMENT,       DT_INIT,          DT_FINI,
                                    DT_SONAME,       DT_RPATH,         DT_REL,
                                    DT_RELSZ,        DT_RELENT,        DT_PLTREL,
                                    DT_JMPREL,       DT_INIT_ARRAY,    DT_FINI_ARRAY,
                                    DT_INIT_ARRAYSZ, DT_FINI_ARRAYSZ,  DT_RUNPATH,
                                    DT_FLAGS,        DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ,
                                    DT_RELRSZ,       DT_RELR,          DT_RELRENT,
                                    DT_GNU_HASH,     DT_VERSYM,        DT_VERDEF,
                                    DT_VERDEFNUM,    DT_VERNEED,       DT_VERNEEDNUM};

// Tags whose value is an offset into the string table; they may repeat.
bool is_string_tag(int64_t tag) {
  return tag == DT_NEEDED || tag == DT_SONAME || tag == DT_RPATH || tag == DT_RUNPATH ||
         tag == DT_AUXILIARY || tag == DT_FILTER;
}

// Upper bound on the links followed in a version chain, far above any real object.
constexpr uint64_t kMaxVersionLinks = 1 << 16;

// Checks the dynamic section of an ELF shared object whose header and program headers are
// already known good, reading `bytes` only (never writing them): every address the loader
// follows lies in the file-backed part of a loadable segment, every table fits, and nothing asks
// the loader to write into code.
class DynamicCheck {
 public:
  DynamicCheck(ByteSpan bytes, std::string_view what, const std::vector<GElf_Phdr>& loads)
      : bytes_(bytes), what_(what), loads_(loads) {}

  Status run(const GElf_Phdr& dynamic) {
    if (!in_range(dynamic.p_offset, dynamic.p_filesz, bytes_.size())) {
      return bad("PT_DYNAMIC lies outside the file");
    }
    if (dynamic.p_filesz == 0 || dynamic.p_filesz % sizeof(Elf64_Dyn) != 0) {
      return bad(
          fmt::format("PT_DYNAMIC size {} is not a whole number of entries", dynamic.p_filesz));
    }
    // The loader reads the section at its address, so that must be the bytes checked here.
    if (file_offset(dynamic.p_vaddr, dynamic.p_filesz) != dynamic.p_offset) {
      return bad("PT_DYNAMIC is not inside the file-backed part of a loadable segment");
    }
    CHIPRT_RETURN_IF_ERROR(read_entries(dynamic));
    CHIPRT_RETURN_IF_ERROR(check_strings());
    CHIPRT_RETURN_IF_ERROR(check_hash_tables());
    CHIPRT_RETURN_IF_ERROR(check_relocations());
    CHIPRT_RETURN_IF_ERROR(check_symbols());
    CHIPRT_RETURN_IF_ERROR(check_versions());
    CHIPRT_RETURN_IF_ERROR(check_code_and_arrays());
    return Status::Ok();
  }

 private:
  Status bad(std::string_view why) const {
    return Status(StatusCode::image_bad_dynamic,
                  fmt::format("{} has a bad dynamic section: {}", what_, why));
  }
  Status bad_tag(int64_t tag, std::string_view why) const {
    return bad(fmt::format("{} {}", tag_name(tag), why));
  }

  // File offset of [vaddr, vaddr + size) when it lies inside the file-backed part of one
  // loadable segment whose flags include `flags`.
  std::optional<uint64_t> file_offset(uint64_t vaddr, uint64_t size, uint32_t flags = 0) const {
    for (const GElf_Phdr& load : loads_) {
      if ((load.p_flags & flags) != flags || vaddr < load.p_vaddr) continue;
      const uint64_t backed = std::min(load.p_filesz, load.p_memsz);
      const uint64_t at = vaddr - load.p_vaddr;
      if (at <= backed && size <= backed - at) return load.p_offset + at;
    }
    return std::nullopt;
  }
  // Whether [vaddr, vaddr + size) lies inside the memory image of one writable loadable segment.
  bool writable(uint64_t vaddr, uint64_t size) const {
    for (const GElf_Phdr& load : loads_) {
      if ((load.p_flags & PF_W) == 0 || vaddr < load.p_vaddr) continue;
      const uint64_t at = vaddr - load.p_vaddr;
      if (at <= load.p_memsz && size <= load.p_memsz - at) return true;
    }
    return false;
  }

  template <typename T>
  T read(uint64_t offset) const {  // callers have checked the range
    T value;
    std::memcpy(&value, bytes_.data() + offset, sizeof value);
    return value;
  }

  std::optional<uint64_t> value(int64_t tag) const {
    const auto at = std::find(kSingleTags.begin(), kSingleTags.end(), tag);
    return at == kSingleTags.end() ? std::nullopt : values_[at - kSingleTags.begin()];
  }

  // File offset of the table `tag` names, `size` bytes long, or an error naming the tag.
  Result<uint64_t> table(int64_t tag, uint64_t size, uint32_t flags = 0) const {
    const uint64_t vaddr = *value(tag);
    const std::optional<uint64_t> offset = file_offset(vaddr, size, flags);
    if (!offset) {
      return bad_tag(tag, fmt::format("{:#x} (+{} bytes) is not inside the file-backed part of a "
                                      "{}loadable segment",
                                      vaddr, size, (flags & PF_X) != 0 ? "executable " : ""));
    }
    return *offset;
  }

  // `address_tag` and `size_tag` both present or both absent; a present size must be a multiple
  // of `entry_size`.
  Status paired(int64_t address_tag, int64_t size_tag, uint64_t entry_size) const {
    if (value(address_tag).has_value() != value(size_tag).has_value()) {
      return bad_tag(
          value(address_tag) ? address_tag : size_tag,
          fmt::format("without {}", tag_name(value(address_tag) ? size_tag : address_tag)));
    }
    if (value(size_tag) && *value(size_tag) % entry_size != 0) {
      return bad_tag(size_tag,
                     fmt::format("{} is not a multiple of {}", *value(size_tag), entry_size));
    }
    return Status::Ok();
  }
  Status entry_size(int64_t tag, uint64_t expected) const {
    if (value(tag) && *value(tag) != expected) {
      return bad_tag(tag, fmt::format("is {}, not {}", *value(tag), expected));
    }
    return Status::Ok();
  }

  Status read_entries(const GElf_Phdr& dynamic) {
    const uint64_t count = dynamic.p_filesz / sizeof(Elf64_Dyn);
    for (uint64_t i = 0; i < count; ++i) {
      const auto entry = read<Elf64_Dyn>(dynamic.p_offset + i * sizeof(Elf64_Dyn));
      const int64_t tag = entry.d_tag;
      if (tag == DT_NULL) return Status::Ok();
      if (tag == DT_TEXTREL) {
        return Status(StatusCode::image_text_relocations,
                      fmt::format("{} has text relocations (DT_TEXTREL)", what_));
      }
      if (tag == DT_FLAGS && (entry.d_un.d_val & DF_TEXTREL) != 0) {
        return Status(StatusCode::image_text_relocations,
                      fmt::format("{} has text relocations (DF_TEXTREL in DT_FLAGS)", what_));
      }
      if (is_string_tag(tag)) string_refs_.push_back({tag, entry.d_un.d_val});
      const auto at = std::find(kSingleTags.begin(), kSingleTags.end(), tag);
      if (at == kSingleTags.end()) continue;
      std::optional<uint64_t>& slot = values_[at - kSingleTags.begin()];
      if (slot) return bad_tag(tag, "appears twice");
      slot = entry.d_un.d_val;
    }
    return bad("no DT_NULL terminates it");
  }

  Status check_strings() {
    if (value(DT_STRTAB).has_value() != value(DT_STRSZ).has_value()) {
      return bad_tag(value(DT_STRTAB) ? DT_STRTAB : DT_STRSZ,
                     value(DT_STRTAB) ? "without DT_STRSZ" : "without DT_STRTAB");
    }
    if (!value(DT_STRTAB)) {
      if (!string_refs_.empty()) return bad_tag(string_refs_.front().tag, "without DT_STRTAB");
      return Status::Ok();
    }
    strsz_ = *value(DT_STRSZ);
    CHIPRT_ASSIGN_OR_RETURN(strtab_, table(DT_STRTAB, strsz_));
    // A final NUL bounds every string that starts inside the table.
    if (strsz_ == 0 || bytes_[strtab_ + strsz_ - 1] != std::byte{0}) {
      return bad_tag(DT_STRTAB, "does not end with a NUL byte");
    }
    for (const StringRef& ref : string_refs_) {
      CHIPRT_RETURN_IF_ERROR(string_offset(ref.tag, ref.offset));
    }
    return Status::Ok();
  }
  Status string_offset(int64_t tag, uint64_t offset) const {
    if (!value(DT_STRTAB)) return bad_tag(tag, "names a string without DT_STRTAB");
    if (offset >= strsz_) {
      return bad_tag(tag, fmt::format("string offset {} is beyond DT_STRSZ {}", offset, strsz_));
    }
    return Status::Ok();
  }

  // The hash tables the loader walks; they cover the symbols a lookup can reach.
  Status check_hash_tables() {
    if (value(DT_HASH)) CHIPRT_RETURN_IF_ERROR(check_sysv_hash());
    if (value(DT_GNU_HASH)) CHIPRT_RETURN_IF_ERROR(check_gnu_hash());
    return Status::Ok();
  }

  // Every symbol a lookup or a relocation reaches lies in the symbol table, and its name in the
  // string table.
  Status check_symbols() {
    CHIPRT_RETURN_IF_ERROR(entry_size(DT_SYMENT, sizeof(Elf64_Sym)));
    if (!value(DT_SYMTAB)) {
      if (nsyms_ > 0) return bad("symbols are used without DT_SYMTAB");
      return Status::Ok();
    }
    if (!value(DT_STRTAB)) return bad_tag(DT_SYMTAB, "without DT_STRTAB");
    // At least the null symbol is there.
    const std::optional<uint64_t> size = mul(std::max<uint64_t>(nsyms_, 1), sizeof(Elf64_Sym));
    if (!size) return bad_tag(DT_SYMTAB, "symbol count overflows");
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t symtab, table(DT_SYMTAB, *size));
    for (uint64_t i = 0; i < nsyms_; ++i) {
      const auto sym = read<Elf64_Sym>(symtab + i * sizeof(Elf64_Sym));
      if (sym.st_name >= strsz_) {
        return bad_tag(DT_SYMTAB, fmt::format("symbol {} name offset {} is beyond DT_STRSZ {}", i,
                                              sym.st_name, strsz_));
      }
    }
    return Status::Ok();
  }

  Status check_sysv_hash() {
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t at, table(DT_HASH, 8));
    const uint64_t nbucket = read<uint32_t>(at);
    const uint64_t nchain = read<uint32_t>(at + 4);
    if (nbucket == 0) return bad_tag(DT_HASH, "has no buckets");
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t words, table(DT_HASH, (2 + nbucket + nchain) * 4));
    for (uint64_t i = 0; i < nbucket + nchain; ++i) {
      if (read<uint32_t>(words + 8 + i * 4) >= nchain) {
        return bad_tag(DT_HASH,
                       fmt::format("entry {} names a symbol beyond its {} chains", i, nchain));
      }
    }
    nsyms_ = std::max(nsyms_, nchain);
    return Status::Ok();
  }

  Status check_gnu_hash() {
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t at, table(DT_GNU_HASH, 16));
    const uint64_t nbuckets = read<uint32_t>(at);
    const uint64_t symoffset = read<uint32_t>(at + 4);
    const uint64_t bloom_size = read<uint32_t>(at + 8);
    if (nbuckets == 0) return bad_tag(DT_GNU_HASH, "has no buckets");
    if (bloom_size == 0 || (bloom_size & (bloom_size - 1)) != 0) {
      return bad_tag(DT_GNU_HASH, fmt::format("bloom size {} is not a power of two", bloom_size));
    }
    const uint64_t buckets_at = 16 + bloom_size * 8;  // both factors are below 2^32
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t table_at, table(DT_GNU_HASH, buckets_at + nbuckets * 4));
    uint64_t last = 0;
    for (uint64_t i = 0; i < nbuckets; ++i) {
      const uint64_t bucket = read<uint32_t>(table_at + buckets_at + i * 4);
      if (bucket != 0 && bucket < symoffset) {
        return bad_tag(DT_GNU_HASH,
                       fmt::format("bucket {} starts below symbol offset {}", i, symoffset));
      }
      last = std::max(last, bucket);
    }
    uint64_t count = symoffset;
    if (last != 0) {
      // Every chain ends at or before the end of the chain of the highest bucket.
      const uint64_t chains_at = buckets_at + nbuckets * 4;
      for (uint64_t index = last;; ++index) {
        const uint64_t offset = chains_at + (index - symoffset) * 4;
        CHIPRT_ASSIGN_OR_RETURN(const uint64_t chain_at, table(DT_GNU_HASH, offset + 4));
        if ((read<uint32_t>(chain_at + offset) & 1) != 0) {
          count = index + 1;
          break;
        }
      }
    }
    nsyms_ = std::max(nsyms_, count);
    return Status::Ok();
  }

  // Version tables: the loader indexes its version array by DT_VERSYM entries, sized by the
  // highest index that DT_VERDEF and DT_VERNEED define.
  Status check_versions() {
    uint64_t highest = 0;
    if (value(DT_VERDEF)) {
      uint64_t entry = *value(DT_VERDEF);
      for (uint64_t link = 0;; ++link) {
        if (link == kMaxVersionLinks) return bad_tag(DT_VERDEF, "chain does not end");
        CHIPRT_ASSIGN_OR_RETURN(const uint64_t at,
                                table_at(DT_VERDEF, entry, sizeof(Elf64_Verdef)));
        const auto def = read<Elf64_Verdef>(at);
        highest = std::max<uint64_t>(highest, def.vd_ndx & 0x7fff);
        if (def.vd_cnt > 0) {
          const std::optional<uint64_t> aux_vaddr = add(entry, def.vd_aux);
          if (!aux_vaddr) return bad_tag(DT_VERDEF, "auxiliary entry address overflows");
          CHIPRT_ASSIGN_OR_RETURN(const uint64_t aux_at,
                                  table_at(DT_VERDEF, *aux_vaddr, sizeof(Elf64_Verdaux)));
          CHIPRT_RETURN_IF_ERROR(string_offset(DT_VERDEF, read<Elf64_Verdaux>(aux_at).vda_name));
        }
        if (def.vd_next == 0) break;
        const std::optional<uint64_t> next = add(entry, def.vd_next);
        if (!next) return bad_tag(DT_VERDEF, "next entry address overflows");
        entry = *next;
      }
    }
    if (value(DT_VERNEED)) {
      uint64_t entry = *value(DT_VERNEED);
      uint64_t links = 0;
      for (;;) {
        if (++links > kMaxVersionLinks) return bad_tag(DT_VERNEED, "chain does not end");
        CHIPRT_ASSIGN_OR_RETURN(const uint64_t at,
                                table_at(DT_VERNEED, entry, sizeof(Elf64_Verneed)));
        const auto need = read<Elf64_Verneed>(at);
        CHIPRT_RETURN_IF_ERROR(string_offset(DT_VERNEED, need.vn_file));
        std::optional<uint64_t> aux = need.vn_cnt > 0 ? add(entry, need.vn_aux) : std::nullopt;
        if (need.vn_cnt > 0 && !aux)
          return bad_tag(DT_VERNEED, "auxiliary entry address overflows");
        while (aux) {
          if (++links > kMaxVersionLinks) return bad_tag(DT_VERNEED, "chain does not end");
          CHIPRT_ASSIGN_OR_RETURN(const uint64_t aux_at,
                                  table_at(DT_VERNEED, *aux, sizeof(Elf64_Vernaux)));
          const auto vernaux = read<Elf64_Vernaux>(aux_at);
          CHIPRT_RETURN_IF_ERROR(string_offset(DT_VERNEED, vernaux.vna_name));
          highest = std::max<uint64_t>(highest, vernaux.vna_other & 0x7fff);
          if (vernaux.vna_next == 0) break;
          aux = add(*aux, vernaux.vna_next);
          if (!aux) return bad_tag(DT_VERNEED, "auxiliary entry address overflows");
        }
        if (need.vn_next == 0) break;
        const std::optional<uint64_t> next = add(entry, need.vn_next);
        if (!next) return bad_tag(DT_VERNEED, "next entry address overflows");
        entry = *next;
      }
    }
    if (value(DT_VERSYM)) {
      if (!value(DT_VERDEF) && !value(DT_VERNEED)) {
        return bad_tag(DT_VERSYM, "without DT_VERDEF or DT_VERNEED");
      }
      CHIPRT_ASSIGN_OR_RETURN(const uint64_t at, table(DT_VERSYM, nsyms_ * 2));
      for (uint64_t i = 0; i < nsyms_; ++i) {
        const uint64_t index = read<uint16_t>(at + i * 2) & 0x7fff;
        if (index > std::max<uint64_t>(highest, 1)) {
          return bad_tag(DT_VERSYM,
                         fmt::format("symbol {} has undefined version index {}", i, index));
        }
      }
    }
    return Status::Ok();
  }
  Result<uint64_t> table_at(int64_t tag, uint64_t vaddr, uint64_t size) const {
    const std::optional<uint64_t> offset = file_offset(vaddr, size);
    if (!offset) {
      return bad_tag(tag, fmt::format("entry at {:#x} is not inside the file-backed part of a "
                                      "loadable segment",
                                      vaddr));
    }
    return *offset;
  }

  Status check_relocations() {
    CHIPRT_RETURN_IF_ERROR(paired(DT_RELA, DT_RELASZ, sizeof(Elf64_Rela)));
    CHIPRT_RETURN_IF_ERROR(paired(DT_REL, DT_RELSZ, sizeof(Elf64_Rel)));
    CHIPRT_RETURN_IF_ERROR(paired(DT_RELR, DT_RELRSZ, sizeof(uint64_t)));
    CHIPRT_RETURN_IF_ERROR(entry_size(DT_RELAENT, sizeof(Elf64_Rela)));
    CHIPRT_RETURN_IF_ERROR(entry_size(DT_RELENT, sizeof(Elf64_Rel)));
    CHIPRT_RETURN_IF_ERROR(entry_size(DT_RELRENT, sizeof(uint64_t)));
    if (value(DT_RELA)) CHIPRT_RETURN_IF_ERROR(relocations(DT_RELA, DT_RELASZ, true));
    if (value(DT_REL)) CHIPRT_RETURN_IF_ERROR(relocations(DT_REL, DT_RELSZ, false));
    if (value(DT_JMPREL) || value(DT_PLTRELSZ) || value(DT_PLTREL)) {
      if (!value(DT_JMPREL) || !value(DT_PLTRELSZ) || !value(DT_PLTREL)) {
        return bad_tag(DT_JMPREL, "DT_JMPREL, DT_PLTRELSZ and DT_PLTREL are not all present");
      }
      const uint64_t kind = *value(DT_PLTREL);
      if (kind != DT_RELA && kind != DT_REL) {
        return bad_tag(DT_PLTREL, fmt::format("{} is neither DT_RELA nor DT_REL", kind));
      }
      const uint64_t entry = kind == DT_RELA ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
      if (*value(DT_PLTRELSZ) % entry != 0) {
        return bad_tag(DT_PLTRELSZ,
                       fmt::format("{} is not a multiple of {}", *value(DT_PLTRELSZ), entry));
      }
      CHIPRT_RETURN_IF_ERROR(relocations(DT_JMPREL, DT_PLTRELSZ, kind == DT_RELA));
      // Lazy binding writes the loader's own words into the first three GOT entries.
      if (!value(DT_PLTGOT)) return bad_tag(DT_JMPREL, "without DT_PLTGOT");
      if (!writable(*value(DT_PLTGOT), 3 * sizeof(uint64_t))) {
        return bad_tag(DT_PLTGOT, fmt::format("{:#x} is not inside a writable loadable segment",
                                              *value(DT_PLTGOT)));
      }
    }
    if (value(DT_RELR)) CHIPRT_RETURN_IF_ERROR(relr());
    return Status::Ok();
  }
  Status relocations(int64_t tag, int64_t size_tag, bool with_addend) {
    const uint64_t size = *value(size_tag);
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t at, table(tag, size));
    const uint64_t entry = with_addend ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
    for (uint64_t i = 0; i < size / entry; ++i) {
      // r_offset and r_info lead both layouts.
      const auto rel = read<Elf64_Rel>(at + i * entry);
      if (ELF64_R_TYPE(rel.r_info) == 0) continue;  // R_*_NONE: the loader skips it
      // The symbol table has no size of its own: it must cover every symbol named here.
      const uint64_t symbol = ELF64_R_SYM(rel.r_info);
      if (symbol != 0) nsyms_ = std::max(nsyms_, symbol + 1);
      if (!writable(rel.r_offset, sizeof(uint64_t))) {
        return bad_tag(tag, fmt::format("relocation {} targets {:#x} outside writable segments", i,
                                        rel.r_offset));
      }
    }
    return Status::Ok();
  }
  Status relr() {
    const uint64_t size = *value(DT_RELRSZ);
    CHIPRT_ASSIGN_OR_RETURN(const uint64_t at, table(DT_RELR, size));
    std::optional<uint64_t> base;
    for (uint64_t i = 0; i < size / sizeof(uint64_t); ++i) {
      const auto word = read<uint64_t>(at + i * sizeof(uint64_t));
      if ((word & 1) == 0) {
        if (!writable(word, sizeof(uint64_t))) {
          return bad_tag(DT_RELR,
                         fmt::format("entry {} targets {:#x} outside writable segments", i, word));
        }
        base = word + sizeof(uint64_t);
        continue;
      }
      if (!base) return bad_tag(DT_RELR, "starts with a bitmap");
      for (uint64_t bit = 1; bit < 64; ++bit) {
        if ((word >> bit & 1) == 0) continue;
        const std::optional<uint64_t> target = add(*base, (bit - 1) * sizeof(uint64_t));
        if (!target || !writable(*target, sizeof(uint64_t))) {
          return bad_tag(DT_RELR, fmt::format("entry {} targets outside writable segments", i));
        }
      }
      base = add(*base, 63 * sizeof(uint64_t));
    }
    return Status::Ok();
  }

  Status check_code_and_arrays() {
    for (const int64_t tag : {DT_INIT, DT_FINI}) {
      if (value(tag)) CHIPRT_RETURN_IF_ERROR(table(tag, 1, PF_X).status());
    }
    struct Array {
      int64_t address;
      int64_t size;
    };
    for (const Array array :
         {Array{DT_INIT_ARRAY, DT_INIT_ARRAYSZ}, Array{DT_FINI_ARRAY, DT_FINI_ARRAYSZ},
          Array{DT_PREINIT_ARRAY, DT_PREINIT_ARRAYSZ}}) {
      CHIPRT_RETURN_IF_ERROR(paired(array.address, array.size, sizeof(uint64_t)));
      if (value(array.address)) {
        CHIPRT_RETURN_IF_ERROR(table(array.address, *value(array.size)).status());
      }
    }
    return Status::Ok();
  }

  struct StringRef {
    int64_t tag;
    uint64_t offset;
  };

  ByteSpan bytes_;
  std::string_view what_;
  const std::vector<GElf_Phdr>& loads_;
  std::array<std::optional<uint64_t>, kSingleTags.size()> values_{};
  std::vector<StringRef> string_refs_;
  uint64_t strtab_ = 0;
  uint64_t strsz_ = 0;
  uint64_t nsyms_ = 0;  // symbols the hash tables and relocations reach
};

}  // namespace

Status check_shared_object(ByteSpan bytes, std::string_view what) {
  static std::once_flag version_once;
  std::call_once(version_once, [] { elf_version(EV_CURRENT); });
  auto bad = [&](std::string_view why) {
    return Status(StatusCode::image_bad_elf, fmt::format("{} is not an ELF shared object for this "
                                                         "machine: {}",
                                                         what, why));
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
  std::vector<GElf_Phdr> loads;
  std::optional<GElf_Phdr> dynamic;
  std::optional<GElf_Phdr> stack;
  bool has_interpreter = false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf.get(), static_cast<int>(i), &phdr) == nullptr) {
      return bad(fmt::format("program header {} is unreadable", i));
    }
    if (phdr.p_type == PT_LOAD) {
      if (!in_range(phdr.p_offset, phdr.p_filesz, bytes.size())) {
        return bad(fmt::format("segment {} lies outside the file", i));
      }
      loads.push_back(phdr);
    } else if (phdr.p_type == PT_DYNAMIC) {
      if (dynamic) {
        return Status(StatusCode::image_bad_dynamic,
                      fmt::format("{} has a bad dynamic section: more than one PT_DYNAMIC", what));
      }
      dynamic = phdr;
    } else if (phdr.p_type == PT_INTERP) {
      has_interpreter = true;
    } else if (phdr.p_type == PT_GNU_STACK) {
      stack = phdr;
    }
  }
  if (loads.empty()) return bad("no loadable segment");
  if (has_interpreter) {
    return Status(StatusCode::image_has_interpreter,
                  fmt::format("{} names a program interpreter (PT_INTERP)", what));
  }
  // Without PT_GNU_STACK the loader falls back to an executable stack.
  if (!stack || (stack->p_flags & PF_X) != 0) {
    return Status(StatusCode::image_executable_stack,
                  fmt::format("{} asks for an executable stack ({})", what,
                              stack ? "PF_X on PT_GNU_STACK" : "no PT_GNU_STACK"));
  }
  if (!dynamic) {
    return Status(StatusCode::image_bad_dynamic,
                  fmt::format("{} has a bad dynamic section: no PT_DYNAMIC", what));
  }
  return DynamicCheck(bytes, what, loads).run(*dynamic);
}

}  // namespace chiprt::format

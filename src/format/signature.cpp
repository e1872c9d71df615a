// Signatures: their text form, their checks, and their encoding as image signature entries.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "chiprt/abi/tensor.h"
#include "chiprt/image.h"
#include "image_layout.h"

namespace chiprt {
namespace {

constexpr std::string_view kDtypeNames[] = {"f32", "i32", "f16", "i64", "u8"};
static_assert(CHIPRT_DTYPE_F32 == 0 && CHIPRT_DTYPE_U8 == 4, "kDtypeNames follows chiprt_dtype_t");

// The one table of how messages name a signature kind: alone, and as a phrase.
struct KindNames {
  SignatureKind kind;
  std::string_view word;
  std::string_view phrase;
};
constexpr KindNames kKindNames[] = {
    {SignatureKind::input, "input", "a tensor input"},
    {SignatureKind::scalar, "scalar", "a scalar"},
    {SignatureKind::output, "output", "an output"},
};
constexpr KindNames kUnknownKind = {SignatureKind::input, "entry", "an entry"};

const KindNames& kind_names(SignatureKind kind) noexcept {
  for (const KindNames& names : kKindNames) {
    if (names.kind == kind) return names;
  }
  return kUnknownKind;  // a raw kind outside the enum (decoding rejects those)
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\n\r");
  return text.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(trim(text.substr(0, at)));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

Status bad_text(std::string_view item, std::string_view why) {
  return Status(StatusCode::invalid_argument,
                fmt::format("signature entry '{}' {} (expected NAME[?]:DTYPE[RANK] or "
                            "NAME[?]:scalar, e.g. 'a:f32[2],tile?:scalar -> f:f32[2]')",
                            item, why));
}

Result<SignatureEntry> parse_entry(std::string_view item, bool output) {
  const auto colon = item.find(':');
  if (colon == std::string_view::npos) return bad_text(item, "has no ':'");
  SignatureEntry entry;
  entry.kind = output ? SignatureKind::output : SignatureKind::input;
  std::string_view name = trim(item.substr(0, colon));
  if (!name.empty() && name.back() == '?') {
    entry.optional = true;
    name.remove_suffix(1);
  }
  if (name.empty() || name.find_first_of(" \t,:?[]") != std::string_view::npos) {
    return bad_text(item, "has no valid name");
  }
  entry.name = std::string(name);
  const std::string_view type = trim(item.substr(colon + 1));
  if (type == "scalar") {
    if (output) return bad_text(item, "is a scalar output; outputs are tensors");
    entry.kind = SignatureKind::scalar;
    return entry;
  }
  const auto open = type.find('[');
  if (open == std::string_view::npos || type.size() != open + 3 || type.back() != ']') {
    return bad_text(item, "has no [RANK] after its dtype");
  }
  auto dtype = parse_dtype(type.substr(0, open));
  if (!dtype.ok()) return bad_text(item, std::move(dtype).status().message());
  entry.dtype = *dtype;
  const char rank = type[open + 1];
  if (rank == '*') {
    entry.any_rank = true;
  } else if (rank >= '0' && rank <= '0' + static_cast<char>(CHIPRT_MAX_DIMS)) {
    entry.rank = static_cast<uint32_t>(rank - '0');
  } else {
    return bad_text(item, fmt::format("has rank '{}' (0..{} or *)", rank, CHIPRT_MAX_DIMS));
  }
  return entry;
}

}  // namespace

std::string_view signature_kind_word(SignatureKind kind) noexcept {
  return kind_names(kind).word;
}

std::string_view signature_kind_phrase(SignatureKind kind) noexcept {
  return kind_names(kind).phrase;
}

std::string dtype_name(uint32_t dtype) {
  if (dtype < std::size(kDtypeNames)) return std::string(kDtypeNames[dtype]);
  return fmt::format("dtype {}", dtype);
}

Result<uint32_t> parse_dtype(std::string_view name) {
  for (uint32_t d = 0; d < std::size(kDtypeNames); ++d) {
    if (kDtypeNames[d] == name) return d;
  }
  return Status(StatusCode::invalid_argument,
                fmt::format("has unknown dtype '{}' (known: f32, i32, f16, i64, u8)", name));
}

Result<Signature> parse_signature(std::string_view text) {
  if (trim(text).empty()) return Status(StatusCode::invalid_argument, "the signature is empty");
  const auto arrow = text.find("->");
  if (arrow != std::string_view::npos && text.find("->", arrow + 2) != std::string_view::npos) {
    return Status(StatusCode::invalid_argument, "the signature has more than one '->'");
  }
  Signature out;
  const auto add = [&](std::string_view part, bool outputs) -> Status {
    if (trim(part).empty()) return Status::Ok();
    for (std::string_view item : split(part, ',')) {
      if (item.empty()) return bad_text(item, "is empty");
      CHIPRT_ASSIGN_OR_RETURN(SignatureEntry entry, parse_entry(item, outputs));
      if (outputs && entry.optional) return bad_text(item, "is an optional output");
      out.push_back(std::move(entry));
    }
    return Status::Ok();
  };
  CHIPRT_RETURN_IF_ERROR(add(text.substr(0, arrow), false));
  if (arrow != std::string_view::npos) CHIPRT_RETURN_IF_ERROR(add(text.substr(arrow + 2), true));
  CHIPRT_RETURN_IF_ERROR(check_signature(out));
  return out;
}

std::string format_signature_entry(const SignatureEntry& entry) {
  const std::string name = entry.name + (entry.optional ? "?" : "");
  if (entry.kind == SignatureKind::scalar) return name + ":scalar";
  return fmt::format("{}:{}[{}]", name, dtype_name(entry.dtype),
                     entry.any_rank ? std::string("*") : std::to_string(entry.rank));
}

std::string format_signature(const Signature& signature) {
  std::string ins, outs;
  for (const SignatureEntry& entry : signature) {
    std::string& side = entry.kind == SignatureKind::output ? outs : ins;
    if (!side.empty()) side += ",";
    side += format_signature_entry(entry);
  }
  if (outs.empty()) return ins;
  return ins.empty() ? "-> " + outs : ins + " -> " + outs;
}

namespace format {

std::string signature_entry_defect(const SignatureEntry& entry) {
  if (entry.name.empty()) return "has an empty name";
  if (entry.name.size() >= CHIPRT_IMAGE_SIGNATURE_NAME_BYTES) {
    return fmt::format("has a {}-byte name; at most {}", entry.name.size(),
                       CHIPRT_IMAGE_SIGNATURE_NAME_BYTES - 1);
  }
  if (entry.name.find('\0') != std::string::npos) return "has a NUL inside its name";
  switch (entry.kind) {
    case SignatureKind::scalar:
      if (entry.dtype != 0 || entry.rank != 0 || entry.any_rank) {
        return "is a scalar with a dtype or rank (both must be 0)";
      }
      return {};
    case SignatureKind::input:
    case SignatureKind::output:
      if (chiprt_dtype_size(entry.dtype) == 0)
        return fmt::format("has unknown dtype {}", entry.dtype);
      if (entry.rank > CHIPRT_MAX_DIMS) {
        return fmt::format("has rank {} (0..{})", entry.rank, CHIPRT_MAX_DIMS);
      }
      if (entry.any_rank && entry.rank != 0) return "has any rank and rank set";
      if (entry.kind == SignatureKind::output && entry.optional) return "is an optional output";
      return {};
  }
  return fmt::format("has kind {}", static_cast<uint32_t>(entry.kind));
}

std::string signature_defect(const Signature& signature) {
  if (signature.size() > CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES) {
    return fmt::format("signature has {} entries; at most {}", signature.size(),
                       CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES);
  }
  std::set<std::string_view> names;
  for (size_t i = 0; i < signature.size(); ++i) {
    const SignatureEntry& entry = signature[i];
    const std::string defect = signature_entry_defect(entry);
    if (!defect.empty()) {
      return fmt::format("signature {} {} ('{}') {}", signature_kind_word(entry.kind), i,
                         std::string_view(entry.name).substr(0, 64), defect);
    }
    if (!names.insert(entry.name).second) {
      return fmt::format("signature {} {} repeats the name '{}'", signature_kind_word(entry.kind),
                         i, entry.name);
    }
  }
  return {};
}

chiprt_image_signature_entry_t encode_signature_entry(const SignatureEntry& entry) {
  chiprt_image_signature_entry_t out{};
  out.kind = static_cast<uint32_t>(entry.kind);
  out.dtype = entry.dtype;
  out.rank = entry.rank;
  out.flags = (entry.optional ? CHIPRT_SIGNATURE_OPTIONAL : 0u) |
              (entry.any_rank ? CHIPRT_SIGNATURE_ANY_RANK : 0u);
  std::memcpy(out.name, entry.name.data(),
              std::min<size_t>(entry.name.size(), CHIPRT_IMAGE_SIGNATURE_NAME_BYTES - 1));
  return out;
}

Result<SignatureEntry> decode_signature_entry(const chiprt_image_signature_entry_t& raw,
                                              size_t index) {
  const auto fail = [&](std::string why) {
    return Status(StatusCode::image_invalid_field,
                  fmt::format("signature entry {} {}", index, why));
  };
  if (raw.kind != CHIPRT_SIGNATURE_INPUT && raw.kind != CHIPRT_SIGNATURE_SCALAR &&
      raw.kind != CHIPRT_SIGNATURE_OUTPUT) {
    return fail(fmt::format("has kind {}", raw.kind));
  }
  if ((raw.flags & ~(CHIPRT_SIGNATURE_OPTIONAL | CHIPRT_SIGNATURE_ANY_RANK)) != 0) {
    return fail(fmt::format("has unknown flags 0x{:x}", raw.flags));
  }
  const size_t length = strnlen(raw.name, CHIPRT_IMAGE_SIGNATURE_NAME_BYTES);
  if (length == CHIPRT_IMAGE_SIGNATURE_NAME_BYTES) return fail("has a name without a NUL");
  if (std::any_of(raw.name + length, raw.name + CHIPRT_IMAGE_SIGNATURE_NAME_BYTES,
                  [](char c) { return c != 0; })) {
    return fail("has non-zero bytes after its name's NUL");
  }
  SignatureEntry entry;
  entry.kind = static_cast<SignatureKind>(raw.kind);
  entry.name.assign(raw.name, length);
  entry.dtype = raw.dtype;
  entry.rank = raw.rank;
  entry.optional = (raw.flags & CHIPRT_SIGNATURE_OPTIONAL) != 0;
  entry.any_rank = (raw.flags & CHIPRT_SIGNATURE_ANY_RANK) != 0;
  return entry;
}

}  // namespace format

Status check_signature(const Signature& signature) {
  const std::string defect = format::signature_defect(signature);
  if (defect.empty()) return Status::Ok();
  return Status(StatusCode::invalid_argument, defect);
}

}  // namespace chiprt

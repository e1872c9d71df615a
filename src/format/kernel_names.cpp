// Kernel names: what the image format allows, the default for an unnamed kernel, and the
// kernel-name table's entries (image format 1.2).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "chiprt/image.h"
#include "image_layout.h"

namespace chiprt {
namespace {

bool allowed_in_kernel_name(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '+' || c == '-';
}

}  // namespace

std::string default_kernel_name(uint32_t func_id) {
  return fmt::format("func {}", func_id);
}

std::string kernel_name_defect(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() >= CHIPRT_IMAGE_KERNEL_NAME_BYTES) {
    return fmt::format("is {} bytes; at most {}", name.size(), CHIPRT_IMAGE_KERNEL_NAME_BYTES - 1);
  }
  const auto bad = std::find_if_not(name.begin(), name.end(), allowed_in_kernel_name);
  if (bad != name.end()) {
    const auto c = static_cast<unsigned char>(*bad);
    const std::string shown =
        c >= 0x20 && c < 0x7f ? fmt::format("'{}'", *bad) : fmt::format("byte 0x{:02x}", c);
    return fmt::format("has {} at byte {} (letters, digits and _.+- only)", shown,
                       bad - name.begin());
  }
  return {};
}

Result<std::string> kernel_name_from_path(std::string_view path) {
  std::string_view stem = path.substr(path.find_last_of('/') + 1);  // npos + 1 == 0
  if (const auto dot = stem.find_last_of('.'); dot != std::string_view::npos && dot > 0) {
    stem = stem.substr(0, dot);
  }
  if (const std::string defect = kernel_name_defect(stem); !defect.empty()) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("the kernel name '{}' taken from '{}' {}; name the kernel explicitly",
                              stem, path, defect));
  }
  return std::string(stem);
}

namespace format {

Result<std::string> decode_kernel_name(const char (&raw)[CHIPRT_IMAGE_KERNEL_NAME_BYTES],
                                       size_t index, uint32_t func_id) {
  const auto fail = [&](std::string why) {
    return Status(StatusCode::image_invalid_field,
                  fmt::format("kernel-name entry {} (func_id {}) {}", index, func_id, why));
  };
  const size_t length = strnlen(raw, CHIPRT_IMAGE_KERNEL_NAME_BYTES);
  if (length == CHIPRT_IMAGE_KERNEL_NAME_BYTES) return fail("has no NUL");
  if (std::any_of(raw + length, raw + CHIPRT_IMAGE_KERNEL_NAME_BYTES,
                  [](char c) { return c != 0; })) {
    return fail("has non-zero bytes after its name's NUL");
  }
  std::string name(raw, length);
  if (const std::string defect = kernel_name_defect(name); !defect.empty()) return fail(defect);
  return name;
}

}  // namespace format
}  // namespace chiprt

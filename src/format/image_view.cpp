#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "chiprt/image.h"
#include "elf_check.h"
#include "image_layout.h"

namespace chiprt {
namespace {

bool in_range(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

struct Span {
  uint64_t begin;
  uint64_t end;
  std::string what;
};

// The signature section's place: a whole number of entries, in range and aligned. Its overlaps
// and the padding around it are checked with the other regions, through `spans`.
Status place_signature(ByteSpan bytes, const chiprt_image_header_t& header,
                       std::vector<Span>& spans) {
  const uint64_t entry_size = sizeof(chiprt_image_signature_entry_t);
  if (header.signature_size == 0 || header.signature_size % entry_size != 0) {
    return Status(StatusCode::image_size_mismatch,
                  fmt::format("signature size {} is not a positive multiple of its {}-byte entries",
                              header.signature_size, entry_size));
  }
  if (header.signature_size / entry_size > CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES) {
    return Status(
        StatusCode::image_invalid_field,
        fmt::format("signature has {} entries; at most {}", header.signature_size / entry_size,
                    CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES));
  }
  if (!in_range(header.signature_offset, header.signature_size, bytes.size())) {
    return Status(StatusCode::image_out_of_range,
                  fmt::format("signature [{}, +{}) lies outside the {}-byte image",
                              header.signature_offset, header.signature_size, bytes.size()));
  }
  if (header.signature_offset % CHIPRT_IMAGE_ALIGN != 0) {
    return Status(StatusCode::image_misaligned,
                  fmt::format("signature offset {} is not {}-byte aligned", header.signature_offset,
                              CHIPRT_IMAGE_ALIGN));
  }
  spans.push_back(
      {header.signature_offset, header.signature_offset + header.signature_size, "signature"});
  return Status::Ok();
}

// The signature's entries, once its place is known to be sound.
Result<Signature> read_signature(ByteSpan bytes, const chiprt_image_header_t& header) {
  Signature signature;
  const size_t count = header.signature_size / sizeof(chiprt_image_signature_entry_t);
  signature.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    chiprt_image_signature_entry_t raw;
    std::memcpy(&raw, bytes.data() + header.signature_offset + i * sizeof raw, sizeof raw);
    CHIPRT_ASSIGN_OR_RETURN(SignatureEntry entry, format::decode_signature_entry(raw, i));
    signature.push_back(std::move(entry));
  }
  if (const std::string defect = format::signature_defect(signature); !defect.empty()) {
    return Status(StatusCode::image_invalid_field, defect);
  }
  return signature;
}

// The kernel-name table's place: one entry per kernel, ending the image, aligned. Its overlaps are
// checked with the other regions, through `spans`.
Status place_kernel_names(ByteSpan bytes, const chiprt_image_header_t& header,
                          std::vector<Span>& spans) {
  const uint64_t expected = uint64_t{header.child_count} * CHIPRT_IMAGE_KERNEL_NAME_BYTES;
  if (header.kernel_names_size != expected) {
    return Status(StatusCode::image_size_mismatch,
                  fmt::format("kernel-name table is {} bytes but {} kernels need {} ({} each)",
                              header.kernel_names_size, header.child_count, expected,
                              CHIPRT_IMAGE_KERNEL_NAME_BYTES));
  }
  if (header.kernel_names_size > bytes.size()) {
    return Status(StatusCode::image_out_of_range,
                  fmt::format("kernel-name table of {} bytes exceeds the {}-byte image",
                              header.kernel_names_size, bytes.size()));
  }
  const uint64_t offset = bytes.size() - header.kernel_names_size;
  if (offset % CHIPRT_IMAGE_ALIGN != 0) {
    return Status(StatusCode::image_misaligned,
                  fmt::format("kernel-name table offset {} (the image's last {} bytes) is not "
                              "{}-byte aligned",
                              offset, header.kernel_names_size, CHIPRT_IMAGE_ALIGN));
  }
  spans.push_back({offset, bytes.size(), "kernel-name table"});
  return Status::Ok();
}

// Each child's name from the table, once its place is known to be sound.
Status read_kernel_names(ByteSpan bytes, std::vector<ImageChild>& children) {
  const uint64_t table = bytes.size() - children.size() * CHIPRT_IMAGE_KERNEL_NAME_BYTES;
  for (size_t i = 0; i < children.size(); ++i) {
    char raw[CHIPRT_IMAGE_KERNEL_NAME_BYTES];
    std::memcpy(raw, bytes.data() + table + i * sizeof raw, sizeof raw);
    CHIPRT_ASSIGN_OR_RETURN(children[i].name,
                            format::decode_kernel_name(raw, i, children[i].func_id));
  }
  return Status::Ok();
}

}  // namespace

std::string_view ImageView::name() const {
  return {header_.name, strnlen(header_.name, CHIPRT_IMAGE_NAME_BYTES)};
}

Result<ImageView> ImageView::parse(ByteSpan bytes, bool verify_hash) {
  chiprt_image_header_t header{};
  if (bytes.size() >= sizeof header.magic) std::memcpy(&header.magic, bytes.data(), 4);
  if (bytes.size() < sizeof header.magic) {
    return Status(StatusCode::image_truncated,
                  fmt::format("image is {} bytes, shorter than its magic", bytes.size()));
  }
  if (header.magic != CHIPRT_IMAGE_MAGIC) {
    return Status(StatusCode::image_bad_magic,
                  fmt::format("not a chiprt image: bad magic 0x{:08x} (expected 0x{:08x} \"CIMG\")",
                              header.magic, CHIPRT_IMAGE_MAGIC));
  }
  if (bytes.size() < sizeof header) {
    return Status(StatusCode::image_truncated,
                  fmt::format("image is {} bytes, shorter than its {}-byte header", bytes.size(),
                              sizeof header));
  }
  std::memcpy(&header, bytes.data(), sizeof header);
  if (header.version_major != CHIPRT_IMAGE_VERSION_MAJOR) {
    return Status(
        StatusCode::image_unsupported_version,
        fmt::format("image version {}.{}; this reader supports major {}", header.version_major,
                    header.version_minor, CHIPRT_IMAGE_VERSION_MAJOR));
  }
  if (header.total_size > bytes.size()) {
    return Status(StatusCode::image_truncated,
                  fmt::format("header says {} bytes but only {} are present", header.total_size,
                              bytes.size()));
  }
  if (header.total_size != bytes.size()) {
    return Status(
        StatusCode::image_size_mismatch,
        fmt::format("header says {} bytes but {} were given", header.total_size, bytes.size()));
  }
  if (header.child_count > CHIPRT_IMAGE_MAX_CHILDREN ||
      sizeof header + uint64_t{header.child_count} * sizeof(chiprt_image_child_t) > bytes.size()) {
    return Status(StatusCode::image_child_count_overflow,
                  fmt::format("child count {} does not fit a {}-byte image", header.child_count,
                              bytes.size()));
  }
  const uint64_t expected_header = format::header_bytes_for(header.child_count);
  if (header.header_size != expected_header) {
    return Status(StatusCode::image_size_mismatch,
                  fmt::format("header_size {} but {} children need {}", header.header_size,
                              header.child_count, expected_header));
  }
  if (header.header_size > bytes.size()) {
    return Status(StatusCode::image_truncated,
                  fmt::format("header_size {} exceeds the image", header.header_size));
  }
  // The signature fields were reserved (zero) in 1.0, the kernel-name table's size in 1.0 and 1.1.
  const bool signature_reserved =
      header.version_minor == 0 && (header.signature_offset != 0 || header.signature_size != 0);
  const bool kernel_names_reserved = header.version_minor < 2 && header.kernel_names_size != 0;
  if (header.flags != 0 || signature_reserved || kernel_names_reserved) {
    return Status(StatusCode::image_invalid_field, "reserved header fields must be zero");
  }
  if (header.orch_size == 0) {
    return Status(StatusCode::image_invalid_field, "orchestration is empty");
  }
  if (!in_range(header.orch_offset, header.orch_size, bytes.size())) {
    return Status(StatusCode::image_out_of_range,
                  fmt::format("orchestration [{}, +{}) lies outside the {}-byte image",
                              header.orch_offset, header.orch_size, bytes.size()));
  }
  if (header.orch_offset % CHIPRT_IMAGE_ALIGN != 0) {
    return Status(StatusCode::image_misaligned,
                  fmt::format("orchestration offset {} is not {}-byte aligned", header.orch_offset,
                              CHIPRT_IMAGE_ALIGN));
  }
  if (header.orch_offset != header.header_size) {
    return Status(StatusCode::image_overlap,
                  fmt::format("orchestration offset {} must equal header_size {}",
                              header.orch_offset, header.header_size));
  }

  ImageView view;
  view.bytes_ = bytes;
  view.header_ = header;
  view.kernels_begin_ = bytes.size();
  view.code_end_ = header.orch_offset + header.orch_size;
  std::vector<Span> spans{
      {0, header.header_size, "header"},
      {header.orch_offset, header.orch_offset + header.orch_size, "orchestration"}};
  std::set<uint32_t> func_ids;
  view.children_.reserve(header.child_count);
  for (uint32_t i = 0; i < header.child_count; ++i) {
    chiprt_image_child_t child;
    std::memcpy(&child, bytes.data() + sizeof header + i * sizeof child, sizeof child);
    const std::string what = fmt::format("child {} (func_id {})", i, child.func_id);
    if (child.core_type != CHIPRT_CORE_AIC && child.core_type != CHIPRT_CORE_AIV) {
      return Status(StatusCode::image_invalid_field,
                    fmt::format("{} has core type {}", what, child.core_type));
    }
    if (child.resolved_device_addr != 0) {
      return Status(StatusCode::image_invalid_field,
                    fmt::format("{} has a resolved address in an unplaced image", what));
    }
    if (!func_ids.insert(child.func_id).second) {
      return Status(StatusCode::image_invalid_field, fmt::format("{} repeats a func_id", what));
    }
    if (child.size == 0 || !in_range(child.offset, child.size, bytes.size())) {
      return Status(StatusCode::image_out_of_range,
                    fmt::format("{} [{}, +{}) lies outside the {}-byte image", what, child.offset,
                                child.size, bytes.size()));
    }
    if (child.offset % CHIPRT_IMAGE_ALIGN != 0) {
      return Status(StatusCode::image_misaligned,
                    fmt::format("{} offset {} is not {}-byte aligned", what, child.offset,
                                CHIPRT_IMAGE_ALIGN));
    }
    spans.push_back({child.offset, child.offset + child.size, what});
    view.children_.push_back({child.func_id, static_cast<CoreType>(child.core_type), child.offset,
                              child.size, default_kernel_name(child.func_id)});
    view.kernels_begin_ = std::min<uint64_t>(view.kernels_begin_, child.offset);
    view.code_end_ = std::max<uint64_t>(view.code_end_, child.offset + child.size);
  }
  const bool has_signature = header.signature_offset != 0 || header.signature_size != 0;
  if (has_signature) CHIPRT_RETURN_IF_ERROR(place_signature(bytes, header, spans));
  const bool has_kernel_names = header.kernel_names_size != 0;
  if (has_kernel_names) CHIPRT_RETURN_IF_ERROR(place_kernel_names(bytes, header, spans));
  const uint64_t table_end =
      sizeof header + uint64_t{header.child_count} * sizeof(chiprt_image_child_t);
  spans.front().end = table_end;  // the header's own padding is checked like any other gap
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i <= spans.size(); ++i) {
    const uint64_t gap_end = i < spans.size() ? spans[i].begin : bytes.size();
    if (gap_end < spans[i - 1].end) {
      return Status(StatusCode::image_overlap,
                    fmt::format("{} overlaps {}", spans[i].what, spans[i - 1].what));
    }
    // Padding is zero, so identity covers only meaningful bytes and no region hides data.
    const auto gap = bytes.subspan(spans[i - 1].end, gap_end - spans[i - 1].end);
    if (std::any_of(gap.begin(), gap.end(), [](std::byte b) { return b != std::byte{0}; })) {
      return Status(StatusCode::image_invalid_field,
                    fmt::format("non-zero padding after {}", spans[i - 1].what));
    }
  }
  if (has_signature) {
    CHIPRT_ASSIGN_OR_RETURN(view.signature_, read_signature(bytes, header));
  }
  view.content_hash_ = format::load_hash(header.content_hash);
  if (verify_hash) {
    const ImageHash actual = format::content_hash_of(bytes);
    if (actual != view.content_hash_) {
      return Status(StatusCode::image_hash_mismatch,
                    fmt::format("content hash {} does not match the bytes ({})",
                                view.content_hash_.hex(), actual.hex()));
    }
  }
  // After the hash, like the ELF checks: a byte damaged in the image's last bytes (the table's)
  // is reported as the damage it is.
  if (has_kernel_names) CHIPRT_RETURN_IF_ERROR(read_kernel_names(bytes, view.children_));
  CHIPRT_RETURN_IF_ERROR(format::check_shared_object(view.orchestration(), "orchestration"));
  for (const ImageChild& child : view.children_) {
    CHIPRT_RETURN_IF_ERROR(format::check_shared_object(
        view.child_bytes(child), fmt::format("kernel func_id {}", child.func_id)));
  }
  return view;
}

}  // namespace chiprt

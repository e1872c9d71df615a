#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "chiprt/image.h"
#include "image_layout.h"

namespace chiprt {

std::string_view core_type_name(CoreType core) noexcept {
  return core == CoreType::aic ? "aic" : "aiv";
}

Result<Bytes> write_image(const ImageSource& source) {
  if (source.orchestration.empty()) {
    return Status(StatusCode::invalid_argument, "orchestration is empty");
  }
  if (source.kernels.size() > CHIPRT_IMAGE_MAX_CHILDREN) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("{} kernels exceed the limit of {}", source.kernels.size(),
                              CHIPRT_IMAGE_MAX_CHILDREN));
  }
  if (source.name.size() >= CHIPRT_IMAGE_NAME_BYTES) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("name is {} bytes; at most {}", source.name.size(),
                              CHIPRT_IMAGE_NAME_BYTES - 1));
  }
  if (const std::string defect = format::signature_defect(source.signature); !defect.empty()) {
    return Status(StatusCode::invalid_argument, defect);
  }
  const bool named = std::any_of(source.kernels.begin(), source.kernels.end(),
                                 [](const KernelSource& kernel) { return !kernel.name.empty(); });
  std::set<uint32_t> func_ids;
  for (const KernelSource& kernel : source.kernels) {
    if (const std::string defect = named ? kernel_name_defect(kernel.name) : ""; !defect.empty()) {
      const char* advice =
          kernel.name.empty() ? " (other kernels are named: name all or none)" : "";
      return Status(StatusCode::invalid_argument,
                    fmt::format("kernel func_id {}: name '{}' {}{}", kernel.func_id, kernel.name,
                                defect, advice));
    }
    if (kernel.shared_object.empty()) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("kernel func_id {} is empty", kernel.func_id));
    }
    if (!func_ids.insert(kernel.func_id).second) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("func_id {} appears twice", kernel.func_id));
    }
  }

  const uint64_t header_size = format::header_bytes_for(source.kernels.size());
  chiprt_image_header_t header{};
  header.magic = CHIPRT_IMAGE_MAGIC;
  header.version_major = CHIPRT_IMAGE_VERSION_MAJOR;
  header.version_minor = CHIPRT_IMAGE_VERSION_MINOR;
  header.header_size = static_cast<uint32_t>(header_size);
  header.child_count = static_cast<uint32_t>(source.kernels.size());
  header.orch_offset = header_size;
  header.orch_size = source.orchestration.size();
  std::memcpy(header.name, source.name.data(), source.name.size());

  std::vector<chiprt_image_child_t> children;
  uint64_t cursor = header.orch_offset + header.orch_size;
  for (const KernelSource& kernel : source.kernels) {
    cursor = align_up(cursor, CHIPRT_IMAGE_ALIGN);
    children.push_back({kernel.func_id, static_cast<uint32_t>(kernel.core), cursor,
                        kernel.shared_object.size(), 0});
    cursor += kernel.shared_object.size();
  }
  if (!source.signature.empty()) {
    cursor = align_up(cursor, CHIPRT_IMAGE_ALIGN);
    header.signature_offset = cursor;
    header.signature_size = source.signature.size() * sizeof(chiprt_image_signature_entry_t);
    cursor += header.signature_size;
  }
  if (named) {
    cursor = align_up(cursor, CHIPRT_IMAGE_ALIGN);
    header.kernel_names_size =
        static_cast<uint32_t>(source.kernels.size() * CHIPRT_IMAGE_KERNEL_NAME_BYTES);
    cursor += header.kernel_names_size;
  }
  header.total_size = cursor;

  Bytes image(cursor);  // zero-filled: padding and gaps are zero
  std::memcpy(image.data(), &header, sizeof header);
  if (!children.empty()) {
    std::memcpy(image.data() + sizeof header, children.data(),
                children.size() * sizeof(chiprt_image_child_t));
  }
  std::memcpy(image.data() + header.orch_offset, source.orchestration.data(),
              source.orchestration.size());
  for (size_t i = 0; i < children.size(); ++i) {
    std::memcpy(image.data() + children[i].offset, source.kernels[i].shared_object.data(),
                children[i].size);
  }
  for (size_t i = 0; i < source.signature.size(); ++i) {
    const chiprt_image_signature_entry_t entry =
        format::encode_signature_entry(source.signature[i]);
    std::memcpy(image.data() + header.signature_offset + i * sizeof entry, &entry, sizeof entry);
  }
  if (named) {
    std::byte* const table = image.data() + (header.total_size - header.kernel_names_size);
    for (size_t i = 0; i < source.kernels.size(); ++i) {
      const std::string& name = source.kernels[i].name;
      std::memcpy(table + i * CHIPRT_IMAGE_KERNEL_NAME_BYTES, name.data(), name.size());
    }
  }
  format::store_hash(reinterpret_cast<chiprt_image_header_t*>(image.data())->content_hash,
                     format::content_hash_of(image));
  return image;
}

}  // namespace chiprt

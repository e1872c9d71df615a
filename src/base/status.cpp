#include "chiprt/status.h"

#include <fmt/format.h>

namespace chiprt {

std::string_view status_code_name(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::invalid_argument:
      return "invalid_argument";
    case StatusCode::not_found:
      return "not_found";
    case StatusCode::out_of_device_memory:
      return "out_of_device_memory";
    case StatusCode::resource_exhausted:
      return "resource_exhausted";
    case StatusCode::load_failed:
      return "load_failed";
    case StatusCode::symbol_not_found:
      return "symbol_not_found";
    case StatusCode::kernel_failed:
      return "kernel_failed";
    case StatusCode::orchestration_failed:
      return "orchestration_failed";
    case StatusCode::failed_precondition:
      return "failed_precondition";
    case StatusCode::unavailable:
      return "unavailable";
    case StatusCode::internal:
      return "internal";
    case StatusCode::io_error:
      return "io_error";
    case StatusCode::device_lost:
      return "device_lost";
    case StatusCode::deadline_exceeded:
      return "deadline_exceeded";
    case StatusCode::cancelled:
      return "cancelled";
    case StatusCode::image_truncated:
      return "image_truncated";
    case StatusCode::image_bad_magic:
      return "image_bad_magic";
    case StatusCode::image_unsupported_version:
      return "image_unsupported_version";
    case StatusCode::image_size_mismatch:
      return "image_size_mismatch";
    case StatusCode::image_out_of_range:
      return "image_out_of_range";
    case StatusCode::image_misaligned:
      return "image_misaligned";
    case StatusCode::image_overlap:
      return "image_overlap";
    case StatusCode::image_child_count_overflow:
      return "image_child_count_overflow";
    case StatusCode::image_bad_elf:
      return "image_bad_elf";
    case StatusCode::image_hash_mismatch:
      return "image_hash_mismatch";
    case StatusCode::image_invalid_field:
      return "image_invalid_field";
    case StatusCode::image_bad_dynamic:
      return "image_bad_dynamic";
    case StatusCode::image_text_relocations:
      return "image_text_relocations";
    case StatusCode::image_has_interpreter:
      return "image_has_interpreter";
    case StatusCode::image_executable_stack:
      return "image_executable_stack";
    case StatusCode::check_failed:
      return "check_failed";
  }
  return "unknown";
}

Status::Status(StatusCode code, std::string message, SourceLocation where) {
  if (code != StatusCode::ok) {
    payload_ = std::make_shared<const Payload>(Payload{code, std::move(message), where});
  }
}

std::string_view Status::message() const noexcept {
  return payload_ ? std::string_view(payload_->message) : std::string_view();
}

std::string Status::to_string(bool with_location) const {
  if (ok()) return "ok";
  std::string text = fmt::format("{}: {}", status_code_name(code()), message());
  if (with_location) {
    text += fmt::format(" [{}:{}]", payload_->where.file_name(), payload_->where.line());
  }
  return text;
}

Status& Status::annotate(std::string_view context) & {
  if (payload_) {
    payload_ = std::make_shared<const Payload>(Payload{
        payload_->code, fmt::format("{}: {}", context, payload_->message), payload_->where});
  }
  return *this;
}

Status&& Status::annotate(std::string_view context) && {
  return std::move(annotate(context));
}

}  // namespace chiprt

#include "signature_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <string_view>

namespace chiprt::registry {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// `what` names the argument ("tensor argument 'a'"); `shape` is the one the caller gave.
Status check_tensor(const SignatureEntry& entry, std::string_view what, uint32_t dtype,
                    const std::vector<int64_t>& shape) {
  if (dtype != entry.dtype) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("{} is {} but the callable's signature wants {}", what,
                              dtype_name(dtype), format_signature_entry(entry)));
  }
  if (!entry.any_rank && shape.size() != entry.rank) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("{} has rank {} (shape {}) but the callable's signature wants {}", what,
                    shape.size(), shape_text(shape), format_signature_entry(entry)));
  }
  return Status::Ok();
}

// An argument the caller gave under `name` as `given` ("tensor", "scalar"...), which the
// signature lists as `kind`; extra when it is not listed at all or listed as another kind.
Result<const SignatureEntry*> listed(
    const std::map<std::string_view, const SignatureEntry*>& by_name, const std::string& name,
    std::string_view given, SignatureKind kind) {
  auto it = by_name.find(name);
  if (it == by_name.end()) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("extra {} '{}': the callable's signature has no argument of that "
                              "name",
                              given, name));
  }
  if (it->second->kind != kind) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("{} '{}' is {} in the callable's signature ({})", given, name,
                    signature_kind_phrase(it->second->kind), format_signature_entry(*it->second)));
  }
  return it->second;
}

}  // namespace

Status check_run_args(const Signature& signature, const RunArgs& args) {
  if (signature.empty()) return Status::Ok();
  std::map<std::string_view, const SignatureEntry*> by_name;
  for (const SignatureEntry& entry : signature) by_name.emplace(entry.name, &entry);

  for (const SignatureEntry& entry : signature) {
    if (entry.optional || entry.kind == SignatureKind::output) continue;
    const bool given =
        entry.kind == SignatureKind::scalar
            ? args.scalars.contains(entry.name)
            : args.tensors.contains(entry.name) || args.device_inputs.contains(entry.name);
    if (!given && entry.kind == SignatureKind::input && args.scalars.contains(entry.name)) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("tensor argument '{}' ({}) of the callable's signature was given "
                                "as a scalar; a tensor argument is an array of at least one "
                                "dimension",
                                entry.name, format_signature_entry(entry)));
    }
    if (!given) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("missing {} argument '{}' ({}) of the callable's signature",
                                entry.kind == SignatureKind::scalar ? "scalar" : "tensor",
                                entry.name, format_signature_entry(entry)));
    }
  }
  for (const auto& [name, tensor] : args.tensors) {
    CHIPRT_ASSIGN_OR_RETURN(const SignatureEntry* entry,
                            listed(by_name, name, "tensor argument", SignatureKind::input));
    CHIPRT_RETURN_IF_ERROR(check_tensor(*entry, fmt::format("tensor argument '{}'", name),
                                        tensor.dtype, tensor.shape));
  }
  for (const auto& [name, tensor] : args.device_inputs) {
    CHIPRT_ASSIGN_OR_RETURN(const SignatureEntry* entry,
                            listed(by_name, name, "device input", SignatureKind::input));
    CHIPRT_RETURN_IF_ERROR(
        check_tensor(*entry, fmt::format("device input '{}'", name), tensor.dtype, tensor.shape));
  }
  for (const auto& [name, value] : args.scalars) {
    CHIPRT_RETURN_IF_ERROR(
        listed(by_name, name, "scalar argument", SignatureKind::scalar).status());
  }
  for (const auto& [name, tensor] : args.device_outputs) {
    CHIPRT_ASSIGN_OR_RETURN(const SignatureEntry* entry,
                            listed(by_name, name, "device output", SignatureKind::output));
    CHIPRT_RETURN_IF_ERROR(
        check_tensor(*entry, fmt::format("device output '{}'", name), tensor.dtype, tensor.shape));
  }
  return Status::Ok();
}

}  // namespace chiprt::registry

// Status and Result<T>: errors as values.
//
// Contract: every fallible chiprt call returns a [[nodiscard]] Status or Result<T>. A Status is
// a code from the small enum below, a message, and the source location where it was made;
// `annotate` prepends context on the way up. Exceptions never cross a C ABI boundary; within
// C++ code chiprt does not throw for expected failures. Status values are cheap to move; an ok
// Status allocates nothing.
#pragma once

#include <memory>
#include <optional>
#include <version>
#if defined(__cpp_lib_source_location)
#include <source_location>
#endif
#include <string>
#include <string_view>
#include <utility>

namespace chiprt {

#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
// Stand-in for std::source_location where the standard library cannot provide it (libstdc++ 12
// under clang 14, the compiler of the libFuzzer build): the same builtins, file and line only.
class SourceLocation {
 public:
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          unsigned line = __builtin_LINE()) noexcept {
    SourceLocation where;
    where.file_ = file;
    where.line_ = line;
    return where;
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr unsigned line() const noexcept { return line_; }

 private:
  const char* file_ = "";
  unsigned line_ = 0;
};
#endif

enum class StatusCode : int {
  ok = 0,
  invalid_argument,      // a caller-supplied value is malformed (not an image problem)
  not_found,             // unknown callable id, unknown func_id, unknown named argument
  out_of_device_memory,  // the device arena cannot fit the allocation
  resource_exhausted,    // a bounded runtime resource (ring, heap, cache) cannot ever fit
  load_failed,           // memfd/dlopen of code failed
  symbol_not_found,      // the loaded code lacks the required entry symbol
  kernel_failed,         // a kernel returned non-zero
  orchestration_failed,  // the orchestration entry returned non-zero or misused the ABI
  failed_precondition,   // call not valid in the current state (e.g. after finalize)
  unavailable,           // the device cannot perform the call at all (null device)
  internal,              // an invariant of chiprt itself was violated
  io_error,              // a host file could not be read or written
  device_lost,           // the device process died or was killed: sticky until reset()
  deadline_exceeded,     // a run missed its run or stall deadline (the device is then lost)
  cancelled,             // the caller asked a run to stop (RunArgs::stop)
  // Image validation failures: one code per defect class.
  image_truncated,
  image_bad_magic,
  image_unsupported_version,
  image_size_mismatch,
  image_out_of_range,
  image_misaligned,
  image_overlap,
  image_child_count_overflow,
  image_bad_elf,
  image_hash_mismatch,
  image_invalid_field,
  image_bad_dynamic,       // the ELF dynamic section is malformed or names bytes outside the file
  image_text_relocations,  // the ELF object asks the loader to write into code (DT_TEXTREL)
  image_has_interpreter,   // the ELF object names a program interpreter (PT_INTERP)
  image_executable_stack,  // the ELF object asks for an executable stack
  check_failed,            // a checked run found what the chip would get wrong (chiprt/check.h)
};

// Stable lower_snake name of a code, e.g. "image_bad_magic".
std::string_view status_code_name(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // ok
  Status(StatusCode code, std::string message, SourceLocation where = SourceLocation::current());

  static Status Ok() noexcept { return Status(); }

  bool ok() const noexcept { return payload_ == nullptr; }
  StatusCode code() const noexcept { return payload_ ? payload_->code : StatusCode::ok; }
  std::string_view message() const noexcept;
  const SourceLocation* where() const noexcept { return payload_ ? &payload_->where : nullptr; }
  // "code: message" (plus file:line when `with_location`).
  std::string to_string(bool with_location = false) const;

  // Prepends "context: " to the message; returns *this for chaining.
  Status& annotate(std::string_view context) &;
  Status&& annotate(std::string_view context) &&;

  void ignore() const noexcept {}

 private:
  struct Payload {
    StatusCode code;
    std::string message;
    SourceLocation where;
  };
  std::shared_ptr<const Payload> payload_;  // immutable once made, so copies may share it
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status(StatusCode::internal, "Result built from an ok Status");
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const& noexcept { return status_; }
  Status status() && noexcept { return std::move(status_); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace chiprt

#define CHIPRT_CONCAT_INNER_(a, b) a##b
#define CHIPRT_CONCAT_(a, b) CHIPRT_CONCAT_INNER_(a, b)

#define CHIPRT_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::chiprt::Status chiprt_status_ = (expr);        \
    if (!chiprt_status_.ok()) return chiprt_status_; \
  } while (0)

#define CHIPRT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

#define CHIPRT_ASSIGN_OR_RETURN(lhs, expr) \
  CHIPRT_ASSIGN_OR_RETURN_IMPL_(CHIPRT_CONCAT_(chiprt_result_, __LINE__), lhs, expr)

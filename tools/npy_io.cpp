#include "npy_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

#include "cli_common.h"

namespace chiprt::cli {
namespace {

struct DtypeName {
  uint32_t dtype;
  const char* descr;  // numpy descr, little-endian host
};
constexpr DtypeName kDtypes[] = {{CHIPRT_DTYPE_F32, "<f4"},
                                 {CHIPRT_DTYPE_I32, "<i4"},
                                 {CHIPRT_DTYPE_F16, "<f2"},
                                 {CHIPRT_DTYPE_I64, "<i8"},
                                 {CHIPRT_DTYPE_U8, "|u1"}};

template <typename T>
Status dump_as(const std::filesystem::path& path, const HostTensor& t) {
  std::vector<size_t> shape(t.shape.begin(), t.shape.end());
  const auto* data = reinterpret_cast<const T*>(t.data.data());
  auto view = xt::adapt(data, t.element_count(), xt::no_ownership(), shape);
  return write_file(path, as_bytes(xt::dump_npy(view)));
}

}  // namespace

Result<HostTensor> load_npy(const std::filesystem::path& path) {
  CHIPRT_ASSIGN_OR_RETURN(Bytes bytes, read_file(path));
  auto bad = [&](std::string_view why) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("{}: not a usable .npy file: {}", path.string(), why));
  };
  std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  std::string header, descr;
  bool fortran = false;
  std::vector<size_t> shape;
  try {
    unsigned char major = 0, minor = 0;
    xt::detail::read_magic(in, &major, &minor);
    if (major == 1 && minor == 0) {
      header = xt::detail::read_header_1_0(in);
    } else if (major == 2 && minor == 0) {
      header = xt::detail::read_header_2_0(in);
    } else {
      return bad(fmt::format("unsupported version {}.{}", major, minor));
    }
    if (!in) return bad("truncated header");
    xt::detail::parse_header(header, descr, &fortran, shape);
  } catch (const std::exception& e) {
    return bad(e.what());
  }
  const DtypeName* dtype = nullptr;
  for (const DtypeName& d : kDtypes) {
    if (descr == d.descr) dtype = &d;
  }
  if (dtype == nullptr) {
    return bad(
        fmt::format("unsupported dtype '{}' (supported: float32 '<f4', float16 '<f2', "
                    "int32 '<i4', int64 '<i8', uint8 '|u1')",
                    descr));
  }
  if (fortran) return bad("Fortran order is not supported");
  if (shape.size() > CHIPRT_MAX_DIMS) return bad("more than 4 dimensions");
  if (shape.empty()) {
    return bad(
        "0-d array (shape ()); tensors have 1 to 4 dims: pass a single value with "
        "--scalar NAME=VALUE");
  }
  HostTensor t;
  t.dtype = dtype->dtype;
  uint64_t count = 1;
  for (size_t d : shape) {
    if (d != 0 && count > (uint64_t{1} << 40) / d) return bad("shape too large");
    count *= d;
    t.shape.push_back(static_cast<int64_t>(d));
  }
  if (count == 0) return bad(fmt::format("no elements (shape ({}))", fmt::join(shape, ", ")));
  const uint64_t data_bytes = count * chiprt_dtype_size(t.dtype);
  const auto at = static_cast<uint64_t>(in.tellg());
  if (at > bytes.size() || bytes.size() - at < data_bytes) {
    return bad(fmt::format("{} data bytes expected, {} present", data_bytes,
                           at > bytes.size() ? 0 : bytes.size() - at));
  }
  t.data.assign(bytes.begin() + static_cast<ptrdiff_t>(at),
                bytes.begin() + static_cast<ptrdiff_t>(at + data_bytes));
  return t;
}

Status save_npy(const std::filesystem::path& path, const HostTensor& t) {
  switch (t.dtype) {
    case CHIPRT_DTYPE_F32:
      return dump_as<float>(path, t);
    case CHIPRT_DTYPE_I32:
      return dump_as<int32_t>(path, t);
    case CHIPRT_DTYPE_I64:
      return dump_as<int64_t>(path, t);
    case CHIPRT_DTYPE_U8:
      return dump_as<uint8_t>(path, t);
    default:
      return Status(StatusCode::invalid_argument,
                    fmt::format("cannot write dtype {} to {}", t.dtype, path.string()));
  }
}

}  // namespace chiprt::cli

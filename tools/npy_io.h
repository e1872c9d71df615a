// .npy files <-> HostTensor, through xtensor's reader and writer (xt::dump_npy and the pieces
// of xt::load_npy), with the checks xtensor leaves out: a known dtype, C order, and data
// bytes actually present (a truncated file is an error, not garbage).
#pragma once

#include <filesystem>

#include "chiprt/run.h"
#include "chiprt/status.h"

namespace chiprt::cli {

// invalid_argument (malformed or unsupported file) or io_error (unreadable).
Result<HostTensor> load_npy(const std::filesystem::path& path);
Status save_npy(const std::filesystem::path& path, const HostTensor& tensor);

}  // namespace chiprt::cli

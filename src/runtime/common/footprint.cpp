#include "runtime/common/footprint.h"

#include <fmt/format.h>

#include <algorithm>

namespace chiprt::runtime {

Status check_view(const chiprt_tensor_t& v, uint32_t tensor_dtype, uint64_t tensor_elements) {
  if (v.dtype != tensor_dtype) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("view dtype {} differs from its tensor's dtype {}", v.dtype, tensor_dtype));
  }
  if (v.ndim < 1 || v.ndim > CHIPRT_MAX_DIMS) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("view ndim {} not in 1..{}", v.ndim, CHIPRT_MAX_DIMS));
  }
  // Overflow-safe: shapes and strides are bounded before they are multiplied.
  uint64_t last = v.offset;
  for (uint32_t d = 0; d < CHIPRT_MAX_DIMS; ++d) {
    const bool used = d < v.ndim;
    if (!used && (v.shape[d] != 0 || v.strides[d] != 0)) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("view dim {} is unused but not 0", d));
    }
    if (!used) continue;
    if (v.shape[d] < 1 || v.strides[d] < 0 || static_cast<uint64_t>(v.shape[d]) > tensor_elements ||
        static_cast<uint64_t>(v.strides[d]) > tensor_elements) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("view dim {} has shape {} stride {}", d, v.shape[d], v.strides[d]));
    }
    const uint64_t extent = static_cast<uint64_t>(v.shape[d] - 1);
    const uint64_t stride = static_cast<uint64_t>(v.strides[d]);
    if (stride != 0 && extent > tensor_elements / stride) {
      return Status(
          StatusCode::invalid_argument,
          fmt::format("view dim {} spans past its tensor of {} elements", d, tensor_elements));
    }
    last += extent * stride;  // each term <= tensor_elements, so four of them cannot overflow
  }
  if (v.offset >= tensor_elements || last >= tensor_elements) {
    return Status(
        StatusCode::invalid_argument,
        fmt::format("view reaches element {} of a tensor of {} elements", last, tensor_elements));
  }
  return Status::Ok();
}

void Footprint::assign(const chiprt_tensor_t& v) {
  runs_.clear();  // keeps its capacity
  exact_ = false;
  // Normalise: drop dims that repeat elements (shape 1 or stride 0), order by stride, and merge
  // dims that are contiguous with their inner neighbour. Fixed arrays: no allocation unless
  // the view has more than one run.
  struct Dim {
    uint64_t shape, stride;
  };
  Dim dims[CHIPRT_MAX_DIMS];
  size_t n = 0;
  lo_ = v.offset;
  hi_ = v.offset + 1;
  for (uint32_t d = 0; d < v.ndim && d < CHIPRT_MAX_DIMS; ++d) {
    if (v.shape[d] <= 1 || v.strides[d] == 0) continue;
    dims[n++] = {static_cast<uint64_t>(v.shape[d]), static_cast<uint64_t>(v.strides[d])};
    hi_ += (dims[n - 1].shape - 1) * dims[n - 1].stride;
  }
  // Largest stride first. An insertion sort over at most CHIPRT_MAX_DIMS entries: std::sort's
  // 16-element insertion threshold makes GCC 12 warn about reads past this 4-entry array.
  for (size_t i = 1; i < n; ++i) {
    for (size_t j = i; j > 0 && dims[j - 1].stride < dims[j].stride; --j) {
      std::swap(dims[j - 1], dims[j]);
    }
  }
  Dim merged[CHIPRT_MAX_DIMS];
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (m > 0 && merged[m - 1].stride == dims[i].stride * dims[i].shape) {
      merged[m - 1] = {merged[m - 1].shape * dims[i].shape, dims[i].stride};
    } else {
      merged[m++] = dims[i];
    }
  }
  uint64_t run_length = 1;
  if (m > 0 && merged[m - 1].stride == 1) run_length = merged[--m].shape;
  if (m == 0) {  // one contiguous run: [lo_, hi_) is exact
    exact_ = true;
    return;
  }
  uint64_t count = 1;
  for (size_t k = 0; k < m; ++k) {
    count *= merged[k].shape;
    if (count > kMaxRuns) return;  // too many runs: keep the bounding interval only
  }
  runs_.reserve(count);  // no allocation when the storage held as many runs before
  uint64_t index[CHIPRT_MAX_DIMS] = {};
  for (uint64_t r = 0; r < count; ++r) {
    uint64_t start = v.offset;
    for (size_t k = 0; k < m; ++k) start += index[k] * merged[k].stride;
    runs_.emplace_back(start, start + run_length);
    for (size_t k = m; k-- > 0;) {
      if (++index[k] < merged[k].shape) break;
      index[k] = 0;
    }
  }
  std::sort(runs_.begin(), runs_.end());
  size_t out = 0;
  for (size_t i = 0; i < runs_.size(); ++i) {
    if (out > 0 && runs_[i].first <= runs_[out - 1].second) {
      runs_[out - 1].second = std::max(runs_[out - 1].second, runs_[i].second);
    } else {
      runs_[out++] = runs_[i];
    }
  }
  runs_.resize(out);
  exact_ = true;
}

bool Footprint::overlaps(const Footprint& other) const {
  if (hi_ <= other.lo_ || other.hi_ <= lo_) return false;
  if (!exact_ || !other.exact_) return true;
  // A contiguous footprint keeps no runs: it is its interval, which overlaps the other's.
  if (runs_.empty() && other.runs_.empty()) return true;
  if (runs_.empty() || other.runs_.empty()) {
    const Footprint& list = runs_.empty() ? other : *this;
    const Footprint& span = runs_.empty() ? *this : other;
    for (const auto& [b, e] : list.runs_) {
      if (b < span.hi_ && span.lo_ < e) return true;
    }
    return false;
  }
  size_t i = 0, j = 0;
  while (i < runs_.size() && j < other.runs_.size()) {
    const auto& a = runs_[i];
    const auto& b = other.runs_[j];
    if (a.second <= b.first) {
      ++i;
    } else if (b.second <= a.first) {
      ++j;
    } else {
      return true;
    }
  }
  return false;
}

bool Footprint::covers(const Footprint& other) const {
  if (!exact_ || other.lo_ < lo_ || hi_ < other.hi_) return false;
  if (other.lo_ == other.hi_) return true;  // nothing to cover
  if (runs_.empty()) return true;           // our interval holds all of other's
  // A contiguous or inexact other is its bounding interval: it must lie inside one run.
  if (!other.exact_ || other.runs_.empty()) {
    auto run =
        std::upper_bound(runs_.begin(), runs_.end(), std::make_pair(other.lo_, ~uint64_t{0}));
    return run != runs_.begin() && std::prev(run)->second >= other.hi_;
  }
  size_t i = 0;
  for (const auto& [b, e] : other.runs_) {
    while (i < runs_.size() && runs_[i].second <= b) ++i;
    if (i == runs_.size() || runs_[i].first > b || runs_[i].second < e) return false;
  }
  return true;
}

bool Footprint::operator==(const Footprint& other) const {
  return lo_ == other.lo_ && hi_ == other.hi_ && exact_ == other.exact_ && runs_ == other.runs_;
}

}  // namespace chiprt::runtime

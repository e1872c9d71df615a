// Footprint: the set of elements a strided tensor view touches, in a form cheap to test for
// overlap. Views are checked against their tensor first (check_view), so every element lies in
// [0, tensor elements).
//
// The exact set is kept as sorted, merged runs of consecutive elements when it has at most
// kMaxRuns of them (row tiles: one run; column tiles of a row-major tensor: one run per row).
// Beyond that only the bounding interval is kept, which can only add dependencies, never lose
// one. Pure values; thread-compatible. assign() and copy-assignment reuse the run storage a
// footprint already holds, so recycled footprints (the tensormap's pooled entries) do not
// allocate once they have held as many runs.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "chiprt/abi/tensor.h"
#include "chiprt/status.h"

namespace chiprt::runtime {

// Checks a view against its tensor: dtype, 1 <= ndim <= CHIPRT_MAX_DIMS, shape >= 1,
// strides >= 0, unused dims 0, every element inside [0, tensor_elements).
Status check_view(const chiprt_tensor_t& view, uint32_t tensor_dtype, uint64_t tensor_elements);

class Footprint {
 public:
  static constexpr size_t kMaxRuns = 4096;
  Footprint() = default;  // no elements
  explicit Footprint(const chiprt_tensor_t& view) { assign(view); }
  void assign(const chiprt_tensor_t& view);

  uint64_t lo() const { return lo_; }
  uint64_t hi() const { return hi_; }  // one past the last element
  bool exact() const { return exact_; }
  bool overlaps(const Footprint& other) const;
  // Every element of `other` is one of ours. Only ever true when that is certain (an inexact
  // footprint covers nothing), so a write that covers an earlier access may supersede it.
  bool covers(const Footprint& other) const;
  bool operator==(const Footprint& other) const;
  // Run storage: how many runs it holds and can hold without allocating.
  size_t run_count() const { return runs_.size(); }
  size_t run_capacity() const { return runs_.capacity(); }
  void reserve_runs(size_t runs) { runs_.reserve(runs); }

 private:
  uint64_t lo_ = 0;
  uint64_t hi_ = 0;
  bool exact_ = false;
  // [begin, end), sorted, disjoint; empty when the footprint is the one run [lo_, hi_).
  std::vector<std::pair<uint64_t, uint64_t>> runs_;
};

}  // namespace chiprt::runtime

#include "bench_check.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace chiprt::cli {
namespace {

float f32_at(const HostTensor& t, uint64_t i) {
  float x = 0;
  std::memcpy(&x, t.data.data() + i * sizeof(float), sizeof(float));
  return x;
}

}  // namespace

Status check_marks(std::span<const int32_t> marks, uint64_t tasks) {
  const uint64_t rows = marks.size() / 2;
  if (marks.size() % 2 != 0 || rows < tasks) {
    return Status(
        StatusCode::internal,
        fmt::format("marks hold {} values, not 2 for each of {} tasks", marks.size(), tasks));
  }
  uint64_t missing = 0, repeated = 0, misnamed = 0, extra = 0;
  std::string first;  // the first few bad rows, named
  int named = 0;
  for (uint64_t k = 0; k < rows; ++k) {
    const int32_t id = marks[2 * k], calls = marks[2 * k + 1];
    std::string bad;
    if (k >= tasks) {
      if (calls != 0) {
        ++extra;
        bad = fmt::format("row {} (past the {} tasks) marked {} times", k, tasks, calls);
      }
    } else if (calls == 0) {
      ++missing;
      bad = fmt::format("task {} never ran", k);
    } else if (calls != 1) {
      ++repeated;
      bad = fmt::format("task {} ran {} times", k, calls);
    } else if (id < 0 || static_cast<uint64_t>(id) != k) {
      ++misnamed;
      bad = fmt::format("task {} ran as task id {}", k, id);
    }
    if (!bad.empty() && named++ < 3) first += (first.empty() ? "" : "; ") + bad;
  }
  if (named == 0) return Status::Ok();
  return Status(StatusCode::internal,
                fmt::format("{} of {} tasks never ran, {} ran more than once, {} under another "
                            "id, {} marks past the run's tasks (first: {})",
                            missing, tasks, repeated, misnamed, extra, first));
}

std::vector<double> attention_reference(const HostTensor& q, const HostTensor& k,
                                        const HostTensor& v) {
  const int64_t s = q.shape[0], d = q.shape[1], t = k.shape[0], dv = v.shape[1];
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> out(static_cast<size_t>(s * dv), 0.0);
  std::vector<double> p(static_cast<size_t>(t));
  for (int64_t i = 0; i < s; ++i) {
    double top = -INFINITY;
    for (int64_t j = 0; j < t; ++j) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e) dot += double{f32_at(q, i * d + e)} * f32_at(k, j * d + e);
      p[j] = dot * scale;
      top = std::max(top, p[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < t; ++j) sum += p[j] = std::exp(p[j] - top);
    for (int64_t j = 0; j < t; ++j) {
      for (int64_t e = 0; e < dv; ++e) out[i * dv + e] += p[j] / sum * f32_at(v, j * dv + e);
    }
  }
  return out;
}

Status check_close(const HostTensor& got, std::span<const double> want, double tolerance,
                   const std::string& what) {
  if (got.dtype != CHIPRT_DTYPE_F32 || got.element_count() != want.size() ||
      got.data.size() != want.size() * sizeof(float)) {
    return Status(StatusCode::internal, fmt::format("{} has {} elements, not the {} expected", what,
                                                    got.element_count(), want.size()));
  }
  for (uint64_t i = 0; i < want.size(); ++i) {
    const double x = f32_at(got, i);
    if (!(std::abs(x - want[i]) <= tolerance * (1 + std::abs(want[i])))) {
      return Status(StatusCode::internal,
                    fmt::format("{} differs from its reference at element {}: {} vs {}", what, i, x,
                                want[i]));
    }
  }
  return Status::Ok();
}

}  // namespace chiprt::cli

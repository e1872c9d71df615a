// The length of the union of time intervals: how long at least one of them was running. A sum
// of their lengths counts overlapping stretches (kernels running side by side) more than once.
#pragma once

#include <algorithm>
#include <vector>

namespace chiprt::cli {

struct Interval {
  double begin = 0;
  double end = 0;  // an interval with end <= begin is empty
};

inline double union_length(std::vector<Interval> intervals) {
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  double total = 0;
  bool open = false;
  Interval run;  // the merged stretch being extended
  for (const Interval& i : intervals) {
    if (i.end <= i.begin) continue;
    if (open && i.begin <= run.end) {
      run.end = std::max(run.end, i.end);
      continue;
    }
    if (open) total += run.end - run.begin;
    run = i;
    open = true;
  }
  if (open) total += run.end - run.begin;
  return total;
}

}  // namespace chiprt::cli

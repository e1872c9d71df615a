#include "runtime/check/task_checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace chiprt::runtime {

TaskChecker::TaskChecker(std::span<std::byte> memory, bool memcheck, uint8_t poison)
    : memory_(memory), memcheck_(memcheck), poison_(poison) {}

void TaskChecker::add_tensor(uint64_t handle, std::byte* host, uint64_t bytes, uint32_t dtype,
                             std::string name, std::string label, bool fresh) {
  if (host == nullptr) return;
  if (fresh && poison_ != 0) std::memset(host, poison_, bytes);
  labels_[name] = label;
  tensors_[handle] = Tensor{host, bytes, std::max(1u, chiprt_dtype_size(dtype)), std::move(name),
                            std::move(label)};
}

void TaskChecker::before(const TaskDesc& task) {
  if (!memcheck_) return;
  named_.clear();
  regions_.clear();
  writable_.clear();
  for (uint32_t i = 0; i < task.param_count; ++i) {
    const chiprt_param_t& p = task.params[i];
    if (p.kind == CHIPRT_PARAM_SCALAR || !tensors_.contains(p.tensor.base)) continue;
    if (std::find(named_.begin(), named_.end(), p.tensor.base) == named_.end()) {
      named_.push_back(p.tensor.base);
    }
  }
  std::byte* const lo = memory_.data();
  std::byte* const hi = memory_.data() + memory_.size();
  for (uint64_t handle : named_) {
    const Tensor& t = tensors_.at(handle);
    std::byte* begin = t.host - std::min<uint64_t>(kMargin, static_cast<uint64_t>(t.host - lo));
    std::byte* end = t.host + t.bytes;
    end += std::min<uint64_t>(kMargin, static_cast<uint64_t>(hi - end));
    regions_.push_back({begin, end, 0});
  }
  std::sort(regions_.begin(), regions_.end(),
            [](const Region& a, const Region& b) { return a.begin < b.begin; });
  std::vector<Region> merged;
  for (const Region& r : regions_) {
    if (!merged.empty() && r.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  regions_ = std::move(merged);
  size_t total = 0;
  for (Region& r : regions_) {
    r.snapshot = total;
    total += static_cast<size_t>(r.end - r.begin);
  }
  snapshot_.resize(total);
  for (const Region& r : regions_) {
    std::memcpy(snapshot_.data() + r.snapshot, r.begin, static_cast<size_t>(r.end - r.begin));
  }
}

void TaskChecker::depends(uint64_t task, std::span<const uint64_t> predecessors) {
  if (!memcheck_ || task >= kMaxOrderedTasks) return;
  submitted_after_[task] = finished_;
  std::vector<uint64_t>& out = predecessors_[task];
  out.insert(out.end(), predecessors.begin(), predecessors.end());
}

void TaskChecker::note_ancestors(uint64_t task) {
  std::vector<uint64_t> bits(task / 64 + 1, 0);
  auto it = predecessors_.find(task);
  if (it != predecessors_.end()) {
    for (uint64_t p : it->second) {
      if (p >= task) continue;  // dependencies point back; anything else orders nothing
      bits[p / 64] |= uint64_t{1} << (p % 64);
      auto a = ancestors_.find(p);
      if (a == ancestors_.end()) continue;
      for (size_t w = 0; w < a->second.size() && w < bits.size(); ++w) bits[w] |= a->second[w];
    }
    predecessors_.erase(it);
  }
  ancestors_[task] = std::move(bits);
}

bool TaskChecker::ordered(uint64_t earlier, uint64_t task) const {
  auto done = finish_order_.find(earlier);
  auto submitted = submitted_after_.find(task);
  if (done != finish_order_.end() && submitted != submitted_after_.end() &&
      done->second < submitted->second) {
    return true;  // finished before the orchestration submitted `task`
  }
  auto a = ancestors_.find(task);
  if (a == ancestors_.end() || earlier / 64 >= a->second.size()) return false;
  return (a->second[earlier / 64] >> (earlier % 64)) & 1;
}

void TaskChecker::check_overlaps(size_t first_new_write) {
  for (size_t i = first_new_write; i < writes_.size(); ++i) {
    const CheckWrite& w = writes_[i];
    std::vector<size_t>& earlier = writes_by_tensor_[w.tensor];
    for (size_t j : earlier) {
      const CheckWrite& v = writes_[j];
      const uint64_t b = std::max(v.begin, w.begin), e = std::min(v.end, w.end);
      if (b >= e || v.task_id == w.task_id || ordered(v.task_id, w.task_id)) continue;
      CheckFinding f;
      f.check = "racecheck";
      f.has_task = true;
      f.task_id = w.task_id;
      f.func_id = w.func_id;
      f.core_type = w.core_type;
      f.core_index = w.core_index;
      f.tensor = w.tensor;
      f.begin = b;
      f.end = e;
      auto who = [](const CheckWrite& x) {
        return fmt::format("task {} (func_id {}, {} core {})", x.task_id, x.func_id,
                           core_type_name(static_cast<CoreType>(x.core_type)), x.core_index);
      };
      f.message = fmt::format(
          "racecheck: {} and {} both wrote elements [{}, {}) of {}, and no dependency orders "
          "them",
          who(v), who(w), b, e, labels_[w.tensor]);
      add(std::move(f));
    }
    earlier.push_back(i);
  }
}

std::unique_ptr<PageGuard> TaskChecker::guard() const {
  if (!memcheck_) return nullptr;
  std::vector<PageGuard::Range> allowed;
  for (uint64_t h : named_) {
    const Tensor& t = tensors_.at(h);
    allowed.emplace_back(t.host, t.host + t.bytes);
  }
  return std::make_unique<PageGuard>(memory_, std::move(allowed));
}

void TaskChecker::report_outside(const TaskDesc& task, uint32_t core_index,
                                 const std::byte* address, bool write) {
  // The tensor it ran past: the nearest below the address (else above) among those the task
  // reads (for a read) or writes (for a write), or among all it names when none is nearer.
  const Tensor* below = nullptr;
  const Tensor* above = nullptr;
  for (const bool by_kind : {true, false}) {
    for (uint64_t h : named_) {
      bool kind = !by_kind;
      for (uint32_t i = 0; i < task.param_count && !kind; ++i) {
        const chiprt_param_t& p = task.params[i];
        kind = p.kind != CHIPRT_PARAM_SCALAR && p.tensor.base == h &&
               (p.kind == CHIPRT_PARAM_INOUT || (p.kind == CHIPRT_PARAM_OUTPUT) == write);
      }
      if (!kind) continue;
      const Tensor& t = tensors_.at(h);
      if (t.host + t.bytes <= address &&
          (!below || t.host + t.bytes > below->host + below->bytes)) {
        below = &t;
      }
      if (t.host > address && (!above || t.host < above->host)) above = &t;
    }
    if (below || above) break;
  }
  const Tensor* near = below ? below : above;
  if (near == nullptr) return;
  const uint64_t offset = below ? static_cast<uint64_t>(address - (below->host + below->bytes))
                                : static_cast<uint64_t>(above->host - address);
  add_memcheck(task, core_index, *near, "bytes", offset, offset + 1,
               fmt::format("{} device memory {} bytes {} {} (a guard page: no tensor the task "
                           "names lies there)",
                           write ? "wrote" : "read", offset,
                           below ? "past the end of" : "before the start of", near->label));
}

void TaskChecker::after(const TaskDesc& task, uint32_t core_index,
                        std::span<const PageGuard::Fault> faults) {
  if (!memcheck_) return;
  for (const PageGuard::Fault& fault : faults) {
    // A write near a named tensor is the snapshot's to report (with its whole extent).
    const bool near = std::any_of(regions_.begin(), regions_.end(), [&](const Region& r) {
      return fault.address >= r.begin && fault.address < r.end;
    });
    if (!(fault.write && near)) report_outside(task, core_index, fault.address, fault.write);
  }
  const bool order = task.task_id < kMaxOrderedTasks;
  if (order) note_ancestors(task.task_id);
  const size_t first_new_write = writes_.size();
  constexpr size_t kBlock = 64;
  for (const Region& r : regions_) {
    const size_t size = static_cast<size_t>(r.end - r.begin);
    const std::byte* before = snapshot_.data() + r.snapshot;
    size_t i = 0;
    while (i < size) {
      const size_t block = std::min(kBlock, size - i);
      if (std::memcmp(r.begin + i, before + i, block) == 0) {
        i += block;
        continue;
      }
      // Coalesce the changed bytes from here on, across blocks and across gaps shorter than an
      // element (a value written may share bytes with the one it replaced).
      while (i < size && r.begin[i] == before[i]) ++i;
      if (i == size) break;
      size_t last = i;
      for (size_t j = i + 1; j < size && j - last <= kSlack; ++j) {
        if (r.begin[j] != before[j]) last = j;
      }
      report(task, core_index, r.begin + i, r.begin + last + 1, before + i);
      i = last + 1;
    }
  }
  if (order) {
    check_overlaps(first_new_write);
    finish_order_[task.task_id] = finished_++;
  }
}

bool TaskChecker::writable(const TaskDesc& task, uint64_t handle, uint64_t e) {
  auto [it, made] = writable_.try_emplace(handle);
  std::vector<bool>& mask = it->second;
  if (made) {
    const Tensor& t = tensors_.at(handle);
    const uint64_t elements = t.bytes / t.element;
    mask.assign(elements, false);
    for (uint32_t i = 0; i < task.param_count; ++i) {
      const chiprt_param_t& p = task.params[i];
      if (p.tensor.base != handle ||
          (p.kind != CHIPRT_PARAM_OUTPUT && p.kind != CHIPRT_PARAM_INOUT)) {
        continue;
      }
      const chiprt_tensor_t& v = p.tensor;
      int64_t shape[CHIPRT_MAX_DIMS] = {1, 1, 1, 1};
      int64_t stride[CHIPRT_MAX_DIMS] = {0, 0, 0, 0};
      for (uint32_t d = 0; d < v.ndim && d < CHIPRT_MAX_DIMS; ++d) {
        shape[d] = v.shape[d];
        stride[d] = v.strides[d];
      }
      // A view of many more elements than its tensor (stride 0, overlapping strides) is not
      // walked: the whole tensor counts as writable (no false finding, bounded time).
      uint64_t count = 1;
      for (int64_t d : shape)
        count = d > 0 && count <= 4 * elements ? count * static_cast<uint64_t>(d) : count;
      if (count > 4 * elements) {
        mask.assign(elements, true);
        continue;
      }
      for (int64_t a = 0; a < shape[0]; ++a) {
        for (int64_t b = 0; b < shape[1]; ++b) {
          for (int64_t c = 0; c < shape[2]; ++c) {
            for (int64_t d = 0; d < shape[3]; ++d) {
              const int64_t at = static_cast<int64_t>(v.offset) + a * stride[0] + b * stride[1] +
                                 c * stride[2] + d * stride[3];
              if (at >= 0 && static_cast<uint64_t>(at) < elements) mask[at] = true;
            }
          }
        }
      }
    }
  }
  return e < mask.size() && mask[e];
}

void TaskChecker::report(const TaskDesc& task, uint32_t core_index, const std::byte* begin,
                         const std::byte* end, const std::byte* was) {
  auto finding = [&](const Tensor& t, std::string unit, uint64_t b, uint64_t e, std::string msg) {
    add_memcheck(task, core_index, t, std::move(unit), b, e, std::move(msg));
  };
  // Walk the changed bytes, one stretch of one kind at a time.
  for (const std::byte* p = begin; p < end;) {
    const Tensor* inside = nullptr;
    uint64_t inside_handle = 0;
    for (uint64_t h : named_) {
      const Tensor& t = tensors_.at(h);
      if (p >= t.host && p < t.host + t.bytes) {
        inside = &t;
        inside_handle = h;
        break;
      }
    }
    if (inside != nullptr) {
      // Elements outside the declared writable views, as one range per contiguous stretch.
      const std::byte* stop = std::min<const std::byte*>(end, inside->host + inside->bytes);
      const uint64_t first = static_cast<uint64_t>(p - inside->host) / inside->element;
      const uint64_t last =
          (static_cast<uint64_t>(stop - inside->host) + inside->element - 1) / inside->element;
      constexpr uint64_t kNone = ~0ull;
      uint64_t open = kNone;  // first element of the stretch being read
      auto close = [&](uint64_t e) {
        finding(*inside, "elements", open, e,
                fmt::format("wrote elements [{}, {}) of {} outside the views it declared writable",
                            open, e, inside->label));
        open = kNone;
      };
      auto changed = [&](uint64_t e) {
        const std::byte* from =
            std::max<const std::byte*>(begin, inside->host + e * inside->element);
        const std::byte* to =
            std::min<const std::byte*>(end, inside->host + (e + 1) * inside->element);
        return from < to && std::memcmp(from, was + (from - begin), to - from) != 0;
      };
      // Each run of changed elements is also recorded as a write of this task.
      uint64_t written = kNone;
      auto record = [&](uint64_t e) {
        if (writes_.size() < LaunchResult::kMaxCheckWrites) {
          writes_.push_back({inside->name, written, e, task.task_id, task.func_id,
                             static_cast<uint32_t>(task.core), core_index});
        }
        written = kNone;
      };
      for (uint64_t e = first; e < last; ++e) {
        const bool wrote = changed(e);
        if (wrote && written == kNone) written = e;
        if (!wrote && written != kNone) record(e);
        const bool bad = wrote && !writable(task, inside_handle, e);
        if (bad && open == kNone) open = e;
        if (!bad && open != kNone) close(e);
      }
      if (written != kNone) record(last);
      if (open != kNone) close(last);
      p = stop;
      continue;
    }
    // Outside every tensor the task names: name the one it ran past (the nearest below), or
    // the one it wrote in front of.
    const Tensor* below = nullptr;
    const Tensor* above = nullptr;
    for (uint64_t h : named_) {
      const Tensor& t = tensors_.at(h);
      if (t.host + t.bytes <= p && (!below || t.host + t.bytes > below->host + below->bytes)) {
        below = &t;
      }
      if (t.host > p && (!above || t.host < above->host)) above = &t;
    }
    const std::byte* stop = end;
    if (above != nullptr) stop = std::min<const std::byte*>(stop, above->host);
    // Offsets rounded out to whole elements of that tensor.
    auto down = [](uint64_t v, uint64_t unit) { return v / unit * unit; };
    auto up = [](uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; };
    if (below != nullptr) {
      const uint64_t b =
          down(static_cast<uint64_t>(p - (below->host + below->bytes)), below->element);
      const uint64_t e =
          up(static_cast<uint64_t>(stop - (below->host + below->bytes)), below->element);
      finding(*below, "bytes", b, e,
              fmt::format("wrote {} bytes past the end of {} (bytes [{}, {}) after its {} bytes)",
                          e - b, below->label, b, e, below->bytes));
    } else if (above != nullptr) {
      const uint64_t b = down(static_cast<uint64_t>(above->host - stop), above->element);
      const uint64_t e = up(static_cast<uint64_t>(above->host - p), above->element);
      finding(*above, "bytes", b, e,
              fmt::format("wrote {} bytes before the start of {} (bytes [{}, {}) before it)", e - b,
                          above->label, b, e));
    }
    p = stop;
  }
}

void TaskChecker::add_memcheck(const TaskDesc& task, uint32_t core_index, const Tensor& tensor,
                               std::string unit, uint64_t begin, uint64_t end, std::string what) {
  CheckFinding f;
  f.check = "memcheck";
  f.has_task = true;
  f.task_id = task.task_id;
  f.func_id = task.func_id;
  f.core_type = static_cast<uint32_t>(task.core);
  f.core_index = core_index;
  f.tensor = tensor.name;
  f.unit = std::move(unit);
  f.begin = begin;
  f.end = end;
  f.message = fmt::format("memcheck: task {} (func_id {}, {} core {}) {}", task.task_id,
                          task.func_id, core_type_name(task.core), core_index, what);
  add(std::move(f));
}

void TaskChecker::add(CheckFinding finding) {
  if (findings_.size() < CheckReport::kMaxFindings) {
    findings_.push_back(std::move(finding));
  } else {
    ++dropped_;
  }
}

}  // namespace chiprt::runtime

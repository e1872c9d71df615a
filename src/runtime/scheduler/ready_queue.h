// ReadyQueue: the core pool's FIFO of ready tasks, a ring that doubles when full and never
// shrinks. Unlike std::deque, which allocates a block every few hundred tasks pushed and frees
// one as many are popped, a queue that has held its high-water mark allocates nothing more: a
// steady stream of tasks costs the pool no host allocation. Not thread-safe (the pool's lock).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace chiprt::runtime {

template <typename T>
class ReadyQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const T& front() const { return slots_[head_]; }
  void pop_front() {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }
  void push_back(const T& value) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & (slots_.size() - 1)] = value;
    ++size_;
  }

 private:
  void grow() {
    std::vector<T> slots(slots_.empty() ? 64 : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) slots[i] = slots_[(head_ + i) & (slots_.size() - 1)];
    slots_ = std::move(slots);
    head_ = 0;
  }
  std::vector<T> slots_;  // a power of two in size
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace chiprt::runtime

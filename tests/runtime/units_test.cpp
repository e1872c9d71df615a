// Units of the runtime: view footprints, tensormap dependency rules, the bounded heap, hbg's
// ordering of reused heap bytes.
#include <gtest/gtest.h>

#include <deque>

#include "runtime/common/footprint.h"
#include "runtime/common/heap.h"
#include "runtime/common/tensormap.h"
#include "runtime/hbg/heap_reuse_order.h"
#include "runtime/scheduler/ready_queue.h"
#include "tensor_views.h"

namespace chiprt::runtime {
namespace {

using chiprt::testing::view2d;

// First in, first out across the ring's wrap and through every growth, against std::deque.
TEST(ReadyQueue, IsFirstInFirstOutThroughWrapsAndGrowth) {
  ReadyQueue<uint32_t> queue;
  std::deque<uint32_t> model;
  uint32_t next = 0;
  // Waves of pushes larger than the pops wrap the ring and then grow it (64, 128, ...).
  for (int wave = 0; wave < 40; ++wave) {
    for (int i = 0; i < 7 + wave * 3; ++i) {
      queue.push_back(next);
      model.push_back(next++);
    }
    for (int i = 0; i < 5 + wave * 2 && !model.empty(); ++i) {
      ASSERT_EQ(queue.front(), model.front()) << "wave " << wave;
      queue.pop_front();
      model.pop_front();
    }
    ASSERT_EQ(queue.size(), model.size());
  }
  while (!model.empty()) {
    ASSERT_EQ(queue.front(), model.front());
    queue.pop_front();
    model.pop_front();
  }
  EXPECT_TRUE(queue.empty());
}

TEST(Footprint, RowTilesOfOneTensorAreDisjoint) {
  EXPECT_FALSE(Footprint(view2d(0, 4, 16, 16, 1)).overlaps(Footprint(view2d(64, 4, 16, 16, 1))));
  EXPECT_TRUE(Footprint(view2d(0, 5, 16, 16, 1)).overlaps(Footprint(view2d(64, 4, 16, 16, 1))));
}

TEST(Footprint, ColumnTilesOfARowMajorTensorAreDisjoint) {
  // [16, 16] row-major: columns 0..7 and 8..15 interleave in memory but share no element.
  const Footprint left(view2d(0, 16, 8, 16, 1)), right(view2d(8, 16, 8, 16, 1));
  EXPECT_TRUE(left.exact());
  EXPECT_FALSE(left.overlaps(right));
  EXPECT_TRUE(left.overlaps(Footprint(view2d(7, 16, 2, 16, 1))));
}

TEST(Footprint, TransposedAndStridedViews) {
  // Column 3 as a transposed [1, 16] view vs row 3.
  EXPECT_TRUE(Footprint(view2d(3, 1, 16, 0, 16)).overlaps(Footprint(view2d(48, 1, 16, 0, 1))));
  // Even columns vs odd columns.
  EXPECT_FALSE(Footprint(view2d(0, 16, 8, 16, 2)).overlaps(Footprint(view2d(1, 16, 8, 16, 2))));
  // Broadcast rows (stride 0) touch one row only.
  EXPECT_FALSE(Footprint(view2d(0, 8, 16, 0, 1)).overlaps(Footprint(view2d(16, 1, 16, 16, 1))));
}

TEST(Footprint, ContiguousAgainstStrided) {
  const Footprint even(view2d(0, 1, 8, 0, 2));  // elements 0, 2, ..., 14
  EXPECT_TRUE(Footprint(view2d(2, 1, 1, 0, 1)).overlaps(even));
  EXPECT_FALSE(Footprint(view2d(3, 1, 1, 0, 1)).overlaps(even));
  EXPECT_FALSE(even.overlaps(Footprint(view2d(15, 1, 4, 0, 1))));
  EXPECT_TRUE(even.overlaps(Footprint(view2d(13, 1, 4, 0, 1))));
}

TEST(Footprint, CoversOnlyWhatItCertainlyHolds) {
  const Footprint all(view2d(0, 16, 16, 16, 1)), left(view2d(0, 16, 8, 16, 1)),
      right(view2d(8, 16, 8, 16, 1)), even(view2d(0, 16, 8, 16, 2));
  EXPECT_TRUE(all.covers(left));
  EXPECT_TRUE(all.covers(even));
  EXPECT_TRUE(left.covers(left));
  EXPECT_FALSE(left.covers(all));
  EXPECT_FALSE(left.covers(right));
  EXPECT_FALSE(left.covers(even));  // even columns 8..14 are not left's
  // Rows 2..3, columns 0..3: inside left's runs (columns 0..7 of every row).
  EXPECT_TRUE(left.covers(Footprint(view2d(32, 2, 4, 16, 1))));
  // One run (row 2, columns 6..9) that crosses left's run boundary at column 8.
  EXPECT_FALSE(left.covers(Footprint(view2d(38, 1, 4, 0, 1))));
  EXPECT_TRUE(left.covers(Footprint(view2d(38, 1, 2, 0, 1))));
  // Beyond Footprint::kMaxRuns runs only a bounding interval is kept: such a footprint covers
  // nothing, though its interval holds the other.
  const Footprint sparse(view2d(0, 5000, 1, 2, 1));  // every other element: 5000 runs
  EXPECT_FALSE(sparse.exact());
  EXPECT_FALSE(sparse.covers(Footprint(view2d(0, 1, 1, 0, 1))));
  EXPECT_TRUE(Footprint(view2d(0, 1, 10000, 0, 1)).covers(sparse));
}

TEST(Footprint, AssignReusesAndMatchesConstruction) {
  Footprint f(view2d(0, 16, 8, 16, 1));
  f.assign(view2d(8, 16, 8, 16, 1));
  EXPECT_TRUE(f == Footprint(view2d(8, 16, 8, 16, 1)));
  EXPECT_FALSE(f == Footprint(view2d(0, 16, 8, 16, 1)));
  f.assign(view2d(0, 4, 16, 16, 1));  // multi-run to one run
  EXPECT_TRUE(f == Footprint(view2d(0, 4, 16, 16, 1)));
  EXPECT_FALSE(f.overlaps(Footprint(view2d(64, 1, 1, 0, 1))));
}

TEST(Footprint, CheckViewRejectsOutOfRange) {
  EXPECT_TRUE(check_view(view2d(0, 16, 16, 16, 1), CHIPRT_DTYPE_F32, 256).ok());
  EXPECT_FALSE(check_view(view2d(1, 16, 16, 16, 1), CHIPRT_DTYPE_F32, 256).ok());
  EXPECT_FALSE(check_view(view2d(0, 16, 16, 16, 1), CHIPRT_DTYPE_I32, 256).ok());
  EXPECT_FALSE(check_view(view2d(0, 1 << 30, 1 << 30, 1 << 30, 1), CHIPRT_DTYPE_F32, 256).ok());
  EXPECT_FALSE(check_view(view2d(0, 2, 2, -1, 1), CHIPRT_DTYPE_F32, 256).ok());
}

std::vector<uint64_t> submit(TensorMap& map, uint64_t task, std::vector<TensorAccess> accesses,
                             std::vector<TensorMap::Placed>* placed = nullptr) {
  std::vector<uint64_t> deps;
  map.submit(task, accesses, deps, placed);
  return deps;
}

TEST(TensorMap, ReadAfterWriteWriteAfterReadWriteAfterWrite) {
  TensorMap map;
  const Footprint all(view2d(0, 16, 16, 16, 1)), left(view2d(0, 16, 8, 16, 1)),
      right(view2d(8, 16, 8, 16, 1));
  std::vector<TensorMap::Placed> first;
  EXPECT_TRUE(submit(map, 0, {{1, true, all}}, &first).empty());
  EXPECT_EQ(submit(map, 1, {{1, false, left}}), (std::vector<uint64_t>{0}));    // RAW
  EXPECT_EQ(submit(map, 2, {{1, false, right}}), (std::vector<uint64_t>{0}));   // RAW, not on 1
  EXPECT_EQ(submit(map, 3, {{1, true, left}}), (std::vector<uint64_t>{0, 1}));  // WAW + WAR
  EXPECT_EQ(submit(map, 4, {{2, true, all}}), (std::vector<uint64_t>{}));       // other tensor
  EXPECT_EQ(submit(map, 5, {{1, true, right}, {2, false, left}}), (std::vector<uint64_t>{0, 2, 4}));
  // Task 3's write of left superseded task 1's read of left, and task 5's write of right task
  // 2's read of right: left are 0 (all), 3 (left), 4, 5 (right, and tensor 2's left).
  EXPECT_EQ(map.entries(), 5u);
  EXPECT_EQ(map.superseded(), 2u);
  map.retire(first);
  EXPECT_EQ(map.entries(), 4u);
  EXPECT_EQ(submit(map, 6, {{1, false, right}}), (std::vector<uint64_t>{5}));
}

TEST(TensorMap, ChainOfInPlaceTasksHasOneDependencyPerTaskAfterTheFirst) {
  const Footprint all(view2d(0, 16, 16, 16, 1));
  for (uint64_t n : {1u, 2u, 1000u}) {
    TensorMap map;
    uint64_t total = 0;
    for (uint64_t t = 0; t < n; ++t) {
      const std::vector<uint64_t> deps = submit(map, t, {{1, true, all}});
      total += deps.size();
      if (t > 0) {
        EXPECT_EQ(deps, (std::vector<uint64_t>{t - 1})) << "task " << t;
      }
    }
    EXPECT_EQ(total, n - 1);
    EXPECT_EQ(map.entries(), 1u);
    EXPECT_EQ(map.superseded(), n - 1);
  }
}

TEST(TensorMap, SupersededReadersBecomeWriteAfterReadPredecessorsOnce) {
  TensorMap map;
  const Footprint all(view2d(0, 16, 16, 16, 1));
  EXPECT_TRUE(submit(map, 0, {{1, true, all}}).empty());
  for (uint64_t t = 1; t <= 4; ++t) {  // four readers of row quarters
    EXPECT_EQ(submit(map, t, {{1, false, Footprint(view2d((t - 1) * 64, 4, 16, 16, 1))}}),
              (std::vector<uint64_t>{0}));
  }
  EXPECT_EQ(map.entries(), 5u);
  EXPECT_EQ(submit(map, 5, {{1, true, all}}), (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(map.entries(), 1u);
  EXPECT_EQ(submit(map, 6, {{1, true, all}}), (std::vector<uint64_t>{5}));
  // A read of what was read before depends on the last writer only.
  EXPECT_EQ(submit(map, 7, {{1, false, Footprint(view2d(0, 4, 16, 16, 1))}}),
            (std::vector<uint64_t>{6}));
}

TEST(TensorMap, PartialWritesKeepWhatTheyDoNotCover) {
  TensorMap map;
  const Footprint all(view2d(0, 16, 16, 16, 1)), left(view2d(0, 16, 8, 16, 1)),
      right(view2d(8, 16, 8, 16, 1));
  submit(map, 0, {{1, true, all}});
  EXPECT_EQ(submit(map, 1, {{1, true, left}}), (std::vector<uint64_t>{0}));
  EXPECT_EQ(map.entries(), 2u);  // task 0 still owns right
  EXPECT_EQ(submit(map, 2, {{1, false, right}}), (std::vector<uint64_t>{0}));
  // Task 0's entry still spans left: the map cannot tell that task 1 rewrote that part.
  EXPECT_EQ(submit(map, 3, {{1, false, left}}), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(submit(map, 4, {{1, true, right}}), (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(map.entries(), 4u);  // 0 (all), 1 (left), 3 (read left), 4 (right)
}

TEST(TensorMap, DisjointTilesNeverDependOnEachOther) {
  TensorMap map;
  // [16, 16] row-major: four row tiles on tensor 1, four column tiles (16 runs each) on 2.
  for (uint64_t t = 0; t < 4; ++t) {
    EXPECT_TRUE(submit(map, t,
                       {{1, true, Footprint(view2d(t * 64, 4, 16, 16, 1))},
                        {2, true, Footprint(view2d(t * 4, 16, 4, 16, 1))}})
                    .empty())
        << "tile " << t;
  }
  for (uint64_t t = 4; t < 8; ++t) {  // the same tiles again: each on its own predecessor
    EXPECT_EQ(submit(map, t,
                     {{1, true, Footprint(view2d((t - 4) * 64, 4, 16, 16, 1))},
                      {2, true, Footprint(view2d((t - 4) * 4, 16, 4, 16, 1))}}),
              (std::vector<uint64_t>{t - 4}));
  }
  EXPECT_EQ(map.entries(), 8u);
  EXPECT_EQ(submit(map, 8,
                   {{1, true, Footprint(view2d(0, 16, 16, 16, 1))},
                    {2, true, Footprint(view2d(0, 16, 16, 16, 1))}}),
            (std::vector<uint64_t>{4, 5, 6, 7}));
  EXPECT_EQ(map.entries(), 2u);
}

TEST(TensorMap, RetiringASupersededEntryIsANoOpEvenAfterReuse) {
  TensorMap map;
  const Footprint all(view2d(0, 16, 16, 16, 1));
  std::vector<TensorMap::Placed> p0, p1, p2;
  submit(map, 0, {{1, true, all}}, &p0);
  submit(map, 1, {{1, true, all}}, &p1);  // drops task 0's entry, then reuses it
  ASSERT_EQ(p0.size(), 1u);
  ASSERT_EQ(p1.size(), 1u);
  EXPECT_EQ(p1[0].entry, p0[0].entry);
  EXPECT_EQ(map.entries(), 1u);
  map.retire(p0);  // what tmr does when task 0's slot is reused: task 1's entry stays
  EXPECT_EQ(map.entries(), 1u);
  EXPECT_TRUE(p0.empty());
  EXPECT_EQ(submit(map, 2, {{1, false, all}}, &p2), (std::vector<uint64_t>{1}));
  map.retire(p1);  // task 1's entry is live: it goes
  EXPECT_EQ(map.entries(), 1u);
  EXPECT_TRUE(submit(map, 3, {{1, false, all}}).empty());
  map.retire(p2);
  EXPECT_EQ(map.entries(), 1u);  // task 3's read
  EXPECT_EQ(map.tensors(), 1u);
}

TEST(Heap, NeverExceedsCapacityAndCoalesces) {
  Heap heap(1024);
  auto a = heap.allocate(500), b = heap.allocate(500);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(heap.allocate(64));  // 512 + 512 used
  EXPECT_EQ(heap.used(), 1024u);
  heap.free(*a, 500);
  heap.free(*b, 500);
  auto whole = heap.allocate(1024);
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, 0u);
  EXPECT_EQ(heap.peak(), 1024u);
  EXPECT_FALSE(Heap(100).allocate(128));
}

std::vector<uint64_t> reuse_deps(const HeapReuseOrder& order, uint64_t offset) {
  std::vector<uint64_t> deps;
  order.add_dependencies(offset, deps);
  return deps;
}

TEST(HeapReuseOrder, ANewOccupantFollowsTheLastWholeWriterAndTheReadersAfterIt) {
  HeapReuseOrder order;
  order.placed(0, 128);
  EXPECT_TRUE(reuse_deps(order, 0).empty());  // fresh bytes: nothing to follow
  order.touched(0, 1, true);                  // whole write
  order.touched(0, 2, false);                 // read
  order.touched(0, 3, true);                  // whole write: follows 1 and 2 via the tensormap
  order.touched(0, 4, false);
  order.touched(0, 5, false);
  order.freed(0);
  order.placed(0, 64);  // half of the freed bytes
  EXPECT_EQ(reuse_deps(order, 0), (std::vector<uint64_t>{3, 4, 5}));
  order.placed(64, 64);  // the other half keeps the same frontier
  EXPECT_EQ(reuse_deps(order, 64), (std::vector<uint64_t>{3, 4, 5}));
  order.touched(0, 6, false);  // a partial write: later users still follow the old frontier
  EXPECT_EQ(reuse_deps(order, 0), (std::vector<uint64_t>{3, 4, 5}));
  order.touched(0, 7, true);  // a whole write: its users follow it through the tensormap
  EXPECT_TRUE(reuse_deps(order, 0).empty());
  order.freed(0);
  order.freed(64);  // never touched: passes its inherited frontier on
  order.placed(0, 128);
  EXPECT_EQ(reuse_deps(order, 0), (std::vector<uint64_t>{3, 4, 5, 7}));
}

}  // namespace
}  // namespace chiprt::runtime

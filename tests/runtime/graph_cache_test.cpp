// hbg's graph cache holds host memory too, and says how much: a cached graph's host bytes are
// what its containers really asked the allocator for (capacities, not element counts; measured
// by this binary's operator new), and the cache keeps its host bytes under their bound, with
// high-water marks, as it does its entries and device bytes.
#include <gtest/gtest.h>

#include <memory>

#include "foundation/host_allocation_faults.h"
#include "runtime/hbg/device_graph.h"
#include "runtime/hbg/graph_cache.h"

namespace chiprt::runtime {
namespace {

namespace faults = test::host_allocation_faults;

TEST(GraphHostBytes, EqualTheBytesTheGraphsContainersRequested) {
  if (!faults::supported()) GTEST_SKIP() << "operator new is the sanitizer's in this build";
  const uint64_t before = faults::requested_bytes();
  auto graph = std::make_shared<DeviceGraph>();
  graph->tensors.reserve(64);  // one tensor used: the other 63 slots are held all the same
  graph->tensors.emplace_back().name.assign(40, 'a');
  graph->tensors.emplace_back().name = "short";  // kept inside the string
  GraphKey::TensorRead& read = graph->key.tensors.emplace_back();
  read.name.assign(33, 't');
  read.shape.reserve(8);
  read.shape.assign({4, 8, 16});
  graph->key.scalars.reserve(4);
  graph->key.scalars.emplace_back().name.assign(20, 's');
  const uint64_t requested = faults::requested_bytes() - before;

  EXPECT_EQ(graph_host_bytes(*graph), requested);
  EXPECT_GT(requested, 64 * sizeof(GraphTensor));
}

std::shared_ptr<const DeviceGraph> graph_of(uint64_t generation, uint64_t host_bytes) {
  auto graph = std::make_shared<DeviceGraph>();
  graph->generation = generation;
  graph->host_bytes = host_bytes;
  return graph;
}

TEST(GraphCache, KeepsItsHostBytesUnderTheirBoundAndRecordsThePeak) {
  const uint64_t entry = GraphCache::kEntryBytes;
  GraphCache cache(16, 1ull << 30, 3000 + 2 * entry);
  const RunArgs args;
  struct Step {
    uint64_t generation, host_bytes;
    uint64_t entries, held, evictions;
  };
  const Step steps[] = {
      {1, 1000, 1, 1000, 0}, {2, 2000, 2, 3000, 0},  // exactly the bound
      {3, 1500, 1, 1500, 2},  // over it: the oldest (1) goes, then still over, 2 goes
      {4, 5000, 0, 0, 4},     // larger than the bound alone: 3 goes, then 4 itself
      {5, 1000, 1, 1000, 4},
  };
  for (const Step& s : steps) {
    cache.insert(graph_of(s.generation, s.host_bytes), args);
    const GraphCache::Use use = cache.use();
    EXPECT_EQ(use.entries, s.entries) << s.generation;
    EXPECT_EQ(use.host_bytes, s.held + s.entries * entry) << s.generation;
    EXPECT_EQ(use.evictions, s.evictions) << s.generation;
    EXPECT_LE(use.host_bytes, cache.capacity_host_bytes());
  }
  EXPECT_EQ(cache.use().peak_host_bytes, 3000 + 2 * entry);
  EXPECT_EQ(cache.use().peak_entries, 2u);
  cache.forget(5);
  EXPECT_EQ(cache.use().host_bytes, 0u);
  EXPECT_EQ(cache.use().entries, 0u);
  EXPECT_EQ(cache.use().peak_host_bytes, 3000 + 2 * entry);
}

}  // namespace
}  // namespace chiprt::runtime

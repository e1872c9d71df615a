// Run arguments and reports: host tensors in, host tensors out.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chiprt/abi/tensor.h"
#include "chiprt/bytes.h"

namespace chiprt {

// A dense row-major host tensor.
struct HostTensor {
  uint32_t dtype = CHIPRT_DTYPE_F32;
  std::vector<int64_t> shape;
  Bytes data;  // element_count() * dtype size bytes

  uint64_t element_count() const {
    uint64_t n = 1;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    return n;
  }
};

struct RunArgs {
  std::map<std::string, HostTensor> tensors;
  std::map<std::string, double> scalars;
};

struct RunReport {
  std::map<std::string, HostTensor> outputs;
  uint64_t tasks = 0;
  double elapsed_us = 0;
  uint64_t peak_ring_occupancy = 0;
  uint64_t peak_heap_bytes = 0;
  bool graph_cache_hit = false;  // hbg: replayed a recorded graph
  uint64_t graph_bytes = 0;      // hbg: device bytes of the graph run
};

}  // namespace chiprt

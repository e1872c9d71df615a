// StallReporter: answers the host's stall snapshot requests (see protocol.h, StallSection).
//
// A thread of its own ("chiprt-stall") that runs no user code, so it answers even when every
// AICPU and execution thread is stuck in a kernel that never returns. It sleeps on the
// request word of the status page (a futex on the shared page: no polling) and, when the host
// bumps it, describes the run named there from the live GraphRun (GraphRun::describe_stall)
// into the page, then publishes the answer.
//
// Thread safety: add() and remove() from any thread. remove() must come before the run is
// destroyed (the end of a run calls it first): a snapshot in progress holds the table's lock.
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "device/protocol.h"
#include "runtime/scheduler/graph_run.h"

namespace chiprt::device_process {

class StallReporter {
 public:
  explicit StallReporter(device::protocol::StatusPage& page);
  ~StallReporter();
  StallReporter(const StallReporter&) = delete;
  StallReporter& operator=(const StallReporter&) = delete;

  void add(uint64_t run, runtime::GraphRun& graph);
  void remove(uint64_t run);

  // Writes the snapshot of `graph` (null: not live) as run `run` into `out`.
  static void describe(runtime::GraphRun* graph, uint64_t run,
                       device::protocol::StallSnapshot& out);

 private:
  void serve();

  device::protocol::StatusPage& page_;
  std::mutex mutex_;  // guards runs_, held while a snapshot reads a run
  std::unordered_map<uint64_t, runtime::GraphRun*> runs_;  // borrowed
  bool stopping_ = false;                                  // guarded by mutex_
  std::thread thread_;
};

}  // namespace chiprt::device_process

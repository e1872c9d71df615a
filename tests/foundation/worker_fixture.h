// WorkerTest: a ChipWorker on one backend and runtime, with a counting loader, a baseline of
// device stats taken right after creation, and helpers that fail the test on an error. Every
// test runs with TMPDIR pointed at a fresh empty directory that must stay empty.
#pragma once

#include <string>
#include <tuple>

#include "test_support.h"

namespace chiprt::test {

struct WorkerCase {
  Backend backend;
  RuntimeKind runtime;
};
std::string worker_case_name(const testing::TestParamInfo<WorkerCase>& info);
void PrintTo(const WorkerCase& worker_case, std::ostream* os);
// Every SimChip profile crossed with `runtimes`.
std::vector<WorkerCase> sim_chip_cases(std::initializer_list<RuntimeKind> runtimes = {
                                           RuntimeKind::tmr, RuntimeKind::hbg});

class WorkerTest : public NoFilesTestWithParam<WorkerCase> {
 protected:
  void SetUp() override;
  // Replaces the device (and worker) with one of `capacity` bytes; re-takes the baseline. By
  // default without the device's code cache, so that every last unregister unloads its code
  // (code_cache_test.cpp tests the cache).
  void recreate(uint64_t capacity, WorkerOptions options = without_code_cache());
  static WorkerOptions without_code_cache() {
    WorkerOptions options;
    options.code_cache_entries = 0;
    return options;
  }

  RuntimeKind runtime() const { return GetParam().runtime; }
  bool tmr() const { return runtime() == RuntimeKind::tmr; }
  // Bytes `image` occupies once placed on this runtime, and that rounded up to the documented
  // 512-byte granularity: both derived here from the image's header fields alone.
  uint64_t device_bytes(const Bytes& image) const;
  uint64_t allocation_bytes(const Bytes& image) const;
  uint64_t allocation_bytes(const std::vector<Bytes>& images) const;

  CallableId register_ok(ByteSpan image);
  void unregister_ok(CallableId id);
  CallableInfo info(CallableId id) const;

  // Device memory, buffers, registrations and loaded code are all back to the baseline.
  void expect_back_to_baseline() const;

  std::shared_ptr<CountingLoader> loader_;
  std::shared_ptr<Device> device_;
  std::unique_ptr<ChipWorker> worker_;
  DeviceStats baseline_;
};

}  // namespace chiprt::test

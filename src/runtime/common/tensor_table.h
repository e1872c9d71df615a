// TensorTable: the tensors of one run and the opaque handles the orchestration sees.
//
// Inputs (from RunArgs, or placed by the host and only named here) and outputs (alloc_output)
// each get their own device buffer tagged `tensor`, freed with the table unless disowned;
// intermediates live in the runtime's heap. `host` is the element-0 pointer in the memory view
// of whoever executes (the device process); on the host side it stays null. A handle is kHandleBase
// + index: never an address, so an orchestration cannot reach memory by forging one, and lookups
// reject anything else.
//
// Not thread-safe: a run guards its table (tmr: its mutex; hbg: built before dispatch).
// Records never move once added (deque), so pointers to them stay valid.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "chiprt/abi/tensor.h"
#include "chiprt/device.h"
#include "chiprt/launch.h"
#include "chiprt/run.h"

namespace chiprt::runtime {

inline constexpr uint64_t kHandleBase = 0x7e45'4e00'0000'0000ull;

enum class TensorKind : uint8_t { input, output, intermediate };

struct TensorRecord {
  TensorKind kind = TensorKind::input;
  std::string name;
  uint32_t dtype = CHIPRT_DTYPE_F32;
  uint32_t ndim = 0;
  int64_t shape[CHIPRT_MAX_DIMS] = {};
  uint64_t elements = 0;
  uint64_t bytes = 0;
  DeviceBuffer memory;        // inputs and outputs
  uint64_t heap_offset = 0;   // intermediates
  std::byte* host = nullptr;  // element 0, for the cores
  // tmr lifetime of intermediates: freed once the scope closed and no task in flight uses it.
  uint32_t users = 0;
  bool scope_open = false;
  bool live = true;
};

// Element count of a dense tensor, or invalid_argument for a bad dtype, ndim or shape.
Result<uint64_t> dense_elements(uint32_t dtype, uint32_t ndim, const int64_t* shape);

// Why a 0-d host tensor (shape ()) is refused as a tensor argument.
inline constexpr std::string_view kZeroDimAdvice =
    "a 0-d tensor (shape ()) is not a tensor argument: tensors have 1 to 4 dims; pass a single "
    "value as a scalar argument";

// The record of input `name` (no device memory yet), validated against its host tensor:
// 1..CHIPRT_MAX_DIMS dims, a known dtype, and data bytes that match the shape. Shared by the
// tmr run and the hbg recorder.
Result<TensorRecord> input_record(const std::string& name, const HostTensor& host);
// The same, for a host tensor that describes dtype and shape alone (its data is not checked).
Result<TensorRecord> input_record_of_shape(const std::string& name, const HostTensor& host);

class TensorTable {
 public:
  explicit TensorTable(Device& device) : device_(device) {}

  // Allocates and uploads every host tensor of `args`.
  Status add_inputs(const RunArgs& args);
  // An input the host already placed in device memory.
  Status add_placed_input(const LaunchTensor& input);
  Result<uint64_t> add_output(const std::string& name, uint32_t dtype, uint32_t ndim,
                              const int64_t* shape);
  uint64_t add_intermediate(uint32_t dtype, uint32_t ndim, const int64_t* shape, uint64_t elements,
                            uint64_t heap_offset, std::byte* host);

  // Adds a record as is (hbg records tensors without device memory); inputs and outputs are
  // indexed by name.
  uint64_t add_record(TensorRecord record);

  std::optional<uint64_t> input(const std::string& name) const;
  TensorRecord* find(uint64_t handle);
  // The dense row-major view of a whole tensor.
  chiprt_tensor_t full_view(uint64_t handle);
  // Copies every output back to the host.
  Status read_outputs(std::map<std::string, HostTensor>& out) const;
  // The outputs, whose device memory now belongs to the caller (the table will not free it).
  std::vector<LaunchTensor> disown_outputs();
  size_t size() const { return records_.size(); }

 private:
  Device& device_;
  std::deque<TensorRecord> records_;
  std::map<std::string, uint64_t> inputs_;
  std::map<std::string, uint64_t> outputs_;
};

}  // namespace chiprt::runtime

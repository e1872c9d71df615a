// _chiprt: the native half of the chiprt Python package. Images, workers (owning their chip or
// borrowed from a pool), callable handles and device tensors over the C++ API; errors become
// chiprt.ChiprtError subclasses. The GIL is released around every call that reaches the device.
#include <pthread.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "chiprt/check.h"
#include "chiprt/image.h"
#include "chiprt/run_summary.h"
#include "chiprt/worker.h"
#include "chiprt/worker_pool.h"
#include "json_report.h"
#include "run_summary_report.h"
#include "run_trace_export.h"

namespace py = pybind11;
using namespace chiprt;

namespace {

// ---- errors ---------------------------------------------------------------------------------

struct Errors {
  PyObject* base = nullptr;
  std::map<std::string, PyObject*> by_name;  // class name -> class
};
Errors& errors() {
  static Errors e;
  return e;
}

const char* error_class_name(StatusCode code) {
  switch (code) {
    case StatusCode::out_of_device_memory:
      return "OutOfDeviceMemory";
    case StatusCode::not_found:
      return "NotFound";
    case StatusCode::device_lost:
      return "DeviceLost";
    case StatusCode::deadline_exceeded:
      return "DeadlineExceeded";
    case StatusCode::cancelled:
      return "Cancelled";
    case StatusCode::invalid_argument:
      return "InvalidArgument";
    case StatusCode::check_failed:
      return "CheckFailed";
    default:
      break;
  }
  if (status_code_name(code).starts_with("image_")) return "InvalidImage";
  return "ChiprtError";
}

py::object from_json(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// Raises the status as its exception class, with .code its name; CheckFailed also carries
// `checks`, the run's check report, as .report (its dict) and .findings. Needs the GIL.
[[noreturn]] void raise_status(const Status& status, const CheckReport* checks = nullptr) {
  PyObject* cls = errors().by_name.at(error_class_name(status.code()));
  py::object exc = py::reinterpret_borrow<py::object>(cls)(status.to_string());
  exc.attr("code") = std::string(status_code_name(status.code()));
  if (status.code() == StatusCode::check_failed && checks != nullptr) {
    py::object report = from_json(cli::check_report_json(*checks));
    exc.attr("report") = report;
    exc.attr("findings") = report["findings"];
  }
  PyErr_SetObject(cls, exc.ptr());
  throw py::error_already_set();
}
void check(const Status& status) {
  if (!status.ok()) raise_status(status);
}
template <typename T>
T take(Result<T> result) {
  if (!result.ok()) raise_status(result.status());
  return std::move(result).value();
}
// Runs `fn` without the GIL, then raises its error with the GIL held.
template <typename Fn>
auto nogil(Fn&& fn) {
  using R = decltype(fn());
  std::optional<R> out;
  {
    py::gil_scoped_release release;
    out.emplace(fn());
  }
  return std::move(*out);
}

// Threads that run the calls `interruptible` waits for, kept for later calls: a thread made per
// call would cost every run its start. One is made when none is idle; none ever ends, and the
// pool is never destroyed (a parked thread may outlive the interpreter's teardown). A forked
// child has none of the parent's threads: it forgets them.
class CallThreads {
 public:
  static CallThreads& get() {
    static CallThreads* const pool = [] {
      auto made = std::make_unique<CallThreads>();
      pthread_atfork([] { pool_for_fork()->mutex_.lock(); },
                     [] { pool_for_fork()->mutex_.unlock(); },
                     [] {
                       // Their threads did not fork; each slot stays owned by its thread's
                       // (now inert) state, so dropping these references frees nothing.
                       CallThreads* p = pool_for_fork();
                       p->idle_.clear();
                       p->mutex_.unlock();
                     });
      return made.release();  // never destroyed, see above
    }();
    return *pool;
  }
  // Runs `job` (which must not throw) on an idle thread, or a new one.
  void run(std::function<void()> job) {
    std::shared_ptr<Slot> slot;
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        slot = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!slot) {
      slot = std::make_shared<Slot>();
      std::thread([this, slot] {
        pthread_setname_np(pthread_self(), "chiprt-call");  // as `top -H` shows it
        serve(slot);
      }).detach();
    }
    {
      std::lock_guard lock(slot->mutex);
      slot->job = std::move(job);
    }
    slot->wake.notify_one();
  }

 private:
  struct Slot {
    std::mutex mutex;
    std::condition_variable wake;
    std::function<void()> job;
  };
  static CallThreads* pool_for_fork() { return &get(); }
  void serve(const std::shared_ptr<Slot>& slot) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(slot->mutex);
        slot->wake.wait(lock, [&] { return static_cast<bool>(slot->job); });
        job = std::move(slot->job);
        slot->job = nullptr;
      }
      job();
      job = nullptr;
      std::lock_guard lock(mutex_);
      idle_.push_back(slot);
    }
  }
  std::mutex mutex_;
  std::vector<std::shared_ptr<Slot>> idle_;
};

// Runs `fn` (a call that waits on the device) on a CallThreads thread while this thread waits for
// it without the GIL, in slices of at most 100 ms, taking the GIL between slices to run Python's
// signal handlers: Ctrl-C reaches the caller while the device works. When a handler raises
// (KeyboardInterrupt), `stop` (if any) is requested, which cancels the call's run (RunArgs::
// stop, within 100 ms); the call is waited for and `on_interrupted` is given its result (to undo
// what it did); then the handler's exception is raised.
template <typename Fn, typename Undo>
auto interruptible(Fn&& fn, std::stop_source* stop, Undo&& on_interrupted) {
  using R = decltype(fn());
  struct Shared {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::optional<R> out;
    std::exception_ptr error;
  } shared;
  CallThreads::get().run([&] {
    std::optional<R> out;
    std::exception_ptr error;
    try {
      out.emplace(fn());
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard lock(shared.mutex);
    shared.out = std::move(out);
    shared.error = error;
    shared.done = true;
    shared.done_cv.notify_all();
  });
  std::optional<py::error_already_set> interrupted;
  for (;;) {
    bool finished;
    {
      py::gil_scoped_release release;
      std::unique_lock lock(shared.mutex);
      finished = shared.done_cv.wait_for(lock, std::chrono::milliseconds(100),
                                         [&] { return shared.done; });
    }
    if (finished) break;
    if (!interrupted && PyErr_CheckSignals() != 0) {
      interrupted.emplace();  // takes the pending exception
      if (stop != nullptr) stop->request_stop();
    }
  }
  // A signal that came as the call ended (a terminal's Ctrl-C also reaches the device process
  // when it shares the terminal's process group) is still the caller's interrupt.
  if (!interrupted && PyErr_CheckSignals() != 0) interrupted.emplace();
  if (interrupted) {
    if (shared.out) on_interrupted(*shared.out);
    throw std::move(*interrupted);
  }
  if (shared.error) std::rethrow_exception(shared.error);
  return std::move(*shared.out);
}
template <typename Fn>
auto interruptible(Fn&& fn, std::stop_source* stop = nullptr) {
  return interruptible(std::forward<Fn>(fn), stop, [](const auto&) {});
}

// Seconds from Python as the milliseconds of a deadline; positive.
std::chrono::milliseconds deadline_argument(double seconds, const char* name) {
  if (!(seconds > 0) || seconds > 1e9) {
    throw py::value_error(std::string("argument '") + name +
                          "': must be a positive number of seconds");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000)));
}

// Checks from Python: "all", "memcheck,initcheck", a list of names, or None (none).
uint32_t checks_argument(const py::object& spec) {
  if (spec.is_none()) return 0;
  std::string list;
  if (py::isinstance<py::str>(spec)) {
    list = spec.cast<std::string>();
  } else {
    if (!py::isinstance<py::iterable>(spec)) {
      throw py::type_error("argument 'checks': expected a str or a list of str");
    }
    for (py::handle name : spec) {
      if (!py::isinstance<py::str>(name)) {
        throw py::type_error("argument 'checks': expected a str or a list of str");
      }
      list += (list.empty() ? "" : ",") + name.cast<std::string>();
    }
  }
  auto parsed = Checks::parse(list);
  if (!parsed.ok())
    throw py::value_error("argument 'checks': " + std::string(parsed.status().message()));
  return parsed->enabled;
}

// The checks of a worker or pool: checks_argument's, with racecheck's seeds.
Checks worker_checks(const py::object& spec, uint32_t seeds, std::optional<uint64_t> seed) {
  if (seeds < 2 || seeds > 1000) {
    throw py::value_error("argument 'check_seeds': must be 2..1000, not " + std::to_string(seeds));
  }
  Checks out;
  out.enabled = checks_argument(spec);
  out.seeds = seeds;
  out.seed = seed;
  return out;
}

// ---- dtypes and arrays -----------------------------------------------------------------------

std::optional<uint32_t> chiprt_dtype(const py::dtype& dt) {
  if (dt.attr("byteorder").cast<std::string>() == ">") return std::nullopt;
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return CHIPRT_DTYPE_F32;
  if (kind == 'f' && size == 2) return CHIPRT_DTYPE_F16;
  if (kind == 'i' && size == 4) return CHIPRT_DTYPE_I32;
  if (kind == 'i' && size == 8) return CHIPRT_DTYPE_I64;
  if (kind == 'u' && size == 1) return CHIPRT_DTYPE_U8;
  return std::nullopt;
}

py::dtype numpy_dtype(uint32_t dtype) {
  switch (dtype) {
    case CHIPRT_DTYPE_F32:
      return py::dtype("float32");
    case CHIPRT_DTYPE_F16:
      return py::dtype("float16");
    case CHIPRT_DTYPE_I32:
      return py::dtype("int32");
    case CHIPRT_DTYPE_I64:
      return py::dtype("int64");
    case CHIPRT_DTYPE_U8:
      return py::dtype("uint8");
    default:
      throw std::runtime_error("unknown chiprt dtype " + std::to_string(dtype));
  }
}

constexpr const char* kDtypes = "float32, float16, int32, int64 or uint8";

uint32_t dtype_argument(const py::object& spec, const std::string& what) {
  py::dtype dt = py::dtype::from_args(spec);
  auto code = chiprt_dtype(dt);
  if (!code) {
    throw py::type_error(what + ": dtype " + py::str(dt).cast<std::string>() +
                         " is not supported (" + kDtypes + ")");
  }
  return *code;
}

// A numpy array given as tensor argument `name`, checked: a supported dtype and C-contiguous
// (TypeError naming the argument), 1..4 dims and not empty (ValueError naming it).
struct ArrayArg {
  py::array array;
  uint32_t dtype;
  std::vector<int64_t> shape;
  ByteSpan bytes() const {
    return {static_cast<const std::byte*>(array.data()), static_cast<size_t>(array.nbytes())};
  }
};
ArrayArg array_argument(const py::array& array, const std::string& name) {
  auto code = chiprt_dtype(array.dtype());
  if (!code) {
    throw py::type_error("argument '" + name + "': dtype " +
                         py::str(array.dtype()).cast<std::string>() + " is not supported (" +
                         kDtypes + ", native byte order)");
  }
  if (!(array.flags() & py::array::c_style)) {
    throw py::type_error("argument '" + name +
                         "': the array is not C-contiguous (pass numpy.ascontiguousarray(...))");
  }
  if (array.ndim() == 0) {
    throw py::value_error("argument '" + name +
                          "': a 0-d array is not a tensor; pass a Python number for a scalar "
                          "or an array of shape (1,)");
  }
  if (array.ndim() > CHIPRT_MAX_DIMS) {
    throw py::value_error("argument '" + name + "': " + std::to_string(array.ndim()) +
                          " dims, at most " + std::to_string(CHIPRT_MAX_DIMS));
  }
  if (array.size() == 0) {
    throw py::value_error("argument '" + name + "': the array is empty (shape " +
                          py::str(py::tuple(array.attr("shape"))).cast<std::string>() + ")");
  }
  ArrayArg out{array, *code, {}};
  for (py::ssize_t d = 0; d < array.ndim(); ++d) out.shape.push_back(array.shape(d));
  return out;
}

// A host tensor as a numpy array that owns its bytes (no copy).
py::array to_numpy(HostTensor&& host) {
  auto* bytes = new Bytes(std::move(host.data));
  py::capsule owner(bytes, [](void* p) { delete static_cast<Bytes*>(p); });
  std::vector<py::ssize_t> shape(host.shape.begin(), host.shape.end());
  return py::array(numpy_dtype(host.dtype), shape, bytes->data(), owner);
}

std::vector<int64_t> shape_argument(const py::object& shape) {
  std::vector<int64_t> out;
  if (py::isinstance<py::int_>(shape)) {
    out.push_back(shape.cast<int64_t>());
  } else {
    for (py::handle d : shape) out.push_back(d.cast<int64_t>());
  }
  return out;
}

std::string fspath(const py::handle& path) {
  return py::module_::import("os").attr("fspath")(path).cast<std::string>();
}

// ---- images ----------------------------------------------------------------------------------

Bytes read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    raise_status(Status(StatusCode::io_error, "cannot read " + path + ": not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) raise_status(Status(StatusCode::io_error, "cannot read " + path));
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

// Image.pack's signature: the CLI's text form ('a:f32[2],tile?:scalar -> f:f32[2]'), a path
// ending in .json holding the "signature" object of `inspect --json`, or that object as a dict.
Signature signature_argument(const py::object& spec) {
  if (spec.is_none()) return {};
  std::string json_text;
  std::string origin = "signature";
  if (py::isinstance<py::dict>(spec)) {
    json_text = py::module_::import("json").attr("dumps")(spec).cast<std::string>();
  } else if (py::isinstance<py::str>(spec) || py::hasattr(spec, "__fspath__")) {
    const std::string text =
        py::isinstance<py::str>(spec) ? spec.cast<std::string>() : fspath(spec);
    if (!text.ends_with(".json")) {
      auto parsed = parse_signature(text);
      if (!parsed.ok()) raise_status(std::move(parsed).status().annotate("signature"));
      return std::move(parsed).value();
    }
    const Bytes bytes = read_file(text);
    json_text.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    origin = text;
  } else {
    throw py::type_error(
        "argument 'signature': expected a str (the CLI's form or a .json path) "
        "or a dict, not " +
        py::str(spec.get_type().attr("__name__")).cast<std::string>());
  }
  const nlohmann::json json = nlohmann::json::parse(json_text, nullptr, false);
  if (json.is_discarded()) {
    raise_status(Status(StatusCode::invalid_argument, origin + " is not valid JSON"));
  }
  auto parsed = cli::signature_from_json(json);
  if (!parsed.ok()) raise_status(std::move(parsed).status().annotate(origin));
  return std::move(parsed).value();
}

// A validated image that owns its bytes.
struct PyImage {
  explicit PyImage(Bytes b) : bytes(std::move(b)) { view.emplace(take(ImageView::parse(bytes))); }
  Bytes bytes;
  std::optional<ImageView> view;
};

// The bytes of an image or of any bytes-like object, borrowed for one call without a copy.
struct ImageBytes {
  std::shared_ptr<PyImage> image;
  std::optional<py::buffer_info> buffer;
  ByteSpan span() const {
    if (image) return image->bytes;
    return {static_cast<const std::byte*>(buffer->ptr), static_cast<size_t>(buffer->size)};
  }
  std::string name() const {
    if (image) return std::string(image->view->name());
    return "";
  }
};
ImageBytes image_bytes(const py::object& obj) {
  ImageBytes out;
  if (py::isinstance<PyImage>(obj)) {
    out.image = obj.cast<std::shared_ptr<PyImage>>();
    return out;
  }
  if (!PyObject_CheckBuffer(obj.ptr())) {
    throw py::type_error("argument 'image': expected a chiprt.Image or a bytes-like object, not " +
                         py::str(obj.get_type().attr("__name__")).cast<std::string>());
  }
  py::buffer buffer = py::reinterpret_borrow<py::buffer>(obj);
  py::buffer_info info = buffer.request();
  const bool contiguous = info.ndim <= 1 && (info.ndim == 0 || info.strides[0] == info.itemsize);
  if (!contiguous) throw py::type_error("argument 'image': the buffer is not contiguous");
  info.size *= info.itemsize;  // bytes
  out.buffer.emplace(std::move(info));
  return out;
}

// ---- workers, handles, tensors ----------------------------------------------------------------

struct PyCallable {
  CallableId id = 0;
  std::string name;
  std::string runtime;
};

// A worker: its own chip's (ChipWorker(...)) or a pool's (pool.worker(...)); `worker` shares
// ownership of whichever owns it. Tracks the registrations made through it, for leak reports.
struct PyWorker {
  std::shared_ptr<ChipWorker> worker;
  size_t device_index = 0;
  Checks checks;  // its WorkerOptions::checks (a run's `checks` keeps their seeds)
  std::mutex mutex;
  struct Live {
    std::string name;
    uint64_t epoch;
  };
  std::map<CallableId, Live> live;

  std::vector<PyCallable> live_handles() {
    const uint64_t epoch = worker->device().epoch();
    std::lock_guard lock(mutex);
    std::vector<PyCallable> out;
    for (auto it = live.begin(); it != live.end();) {
      if (it->second.epoch != epoch) {  // went with a lost device at its reset
        it = live.erase(it);
        continue;
      }
      out.push_back({it->first, it->second.name, std::string(runtime_name(worker->runtime()))});
      ++it;
    }
    return out;
  }
};

struct PyTensor {
  std::shared_ptr<ChipWorker> worker;  // copies through it; keeps the device alive
  DeviceTensor tensor;
  void check_live() const {
    if (!tensor)
      raise_status(Status(StatusCode::failed_precondition, "the device tensor was freed"));
  }
};

std::shared_ptr<PyWorker> make_worker(std::shared_ptr<ChipWorker> worker, size_t device,
                                      const Checks& checks) {
  auto out = std::make_shared<PyWorker>();
  out->worker = std::move(worker);
  out->device_index = device;
  out->checks = checks;
  return out;
}

struct OwnedChip {  // a ChipWorker that owns its chip
  std::shared_ptr<Device> device;
  std::unique_ptr<ChipWorker> worker;
};

std::shared_ptr<PyWorker> new_worker(const std::string& runtime, const std::string& profile,
                                     uint64_t device_memory, double run_timeout,
                                     double stall_timeout, const py::object& checks,
                                     uint32_t check_seeds, std::optional<uint64_t> check_seed) {
  const RuntimeKind kind = take(parse_runtime(runtime));
  const ChipProfile p = take(chip_profile(profile));
  WorkerOptions options;
  options.runtime = kind;
  options.run_timeout = deadline_argument(run_timeout, "run_timeout");
  options.stall_timeout = deadline_argument(stall_timeout, "stall_timeout");
  options.checks = worker_checks(checks, check_seeds, check_seed);
  auto owned = std::make_shared<OwnedChip>();
  nogil([&] {
    owned->device = create_sim_chip(p, device_memory);
    return 0;
  });
  if (!owned->device) {
    raise_status(Status(StatusCode::unavailable, "cannot create a simulated chip of " +
                                                     std::to_string(device_memory) + " bytes"));
  }
  owned->worker = take(nogil([&] { return ChipWorker::create(owned->device, options); }));
  ChipWorker* raw = owned->worker.get();
  return make_worker(std::shared_ptr<ChipWorker>(std::move(owned), raw), 0, options.checks);
}

PyCallable do_register(PyWorker& w, const py::object& image) {
  ImageBytes bytes = image_bytes(image);
  // Interrupted after it registered: the caller never sees the handle, so it is released.
  const CallableId id =
      take(interruptible([&] { return w.worker->register_callable(bytes.span()); }, nullptr,
                         [&](const Result<CallableId>& made) {
                           if (made.ok()) w.worker->unregister_callable(*made).ignore();
                         }));
  std::string name = bytes.name();
  if (name.empty() && !bytes.image) {
    auto view = ImageView::parse(bytes.span(), false);
    if (view.ok()) name = std::string(view->name());
  }
  {
    std::lock_guard lock(w.mutex);
    w.live[id] = {name, w.worker->device().epoch()};
  }
  return {id, name, std::string(runtime_name(w.worker->runtime()))};
}

CallableId handle_id(const py::object& handle) {
  if (py::isinstance<PyCallable>(handle)) return handle.cast<const PyCallable&>().id;
  if (py::isinstance<py::int_>(handle)) return handle.cast<CallableId>();
  throw py::type_error("argument 'handle': expected a chiprt.Callable, not " +
                       py::str(handle.get_type().attr("__name__")).cast<std::string>());
}

void do_unregister(PyWorker& w, const py::object& handle) {
  const CallableId id = handle_id(handle);
  check(nogil([&] { return w.worker->unregister_callable(id); }));
  std::lock_guard lock(w.mutex);
  w.live.erase(id);
}

const DeviceTensor& tensor_of(const py::handle& obj, const std::string& name) {
  const PyTensor& t = obj.cast<const PyTensor&>();
  if (!t.tensor) throw py::value_error("argument '" + name + "': the device tensor was freed");
  return t.tensor;
}

// What run(..., report=True) returns: the outputs and what the run measured.
struct PyRunReport {
  py::dict outputs;
  uint64_t tasks = 0;
  double elapsed_us = 0;
  uint64_t orchestration_calls = 0;
  bool graph_cache_hit = false;
  uint64_t peak_ring_occupancy = 0;
  uint64_t peak_heap_bytes = 0;
  py::list trace;                   // one dict per executed task
  py::list edges;                   // one dict per dependency edge
  py::list orchestration;           // the orchestration track's spans
  py::object summary = py::none();  // run_summary_json's dict
  std::string chrome_trace;         // Chrome trace JSON text
  py::object checks = py::none();   // the check report of a checked run
};

py::object do_run(PyWorker& w, const py::object& handle, const py::object& out,
                  const py::object& checks, bool with_report, const py::kwargs& kwargs) {
  const CallableId id = handle_id(handle);
  RunArgs args;
  if (!checks.is_none()) {
    args.checks = w.checks;
    args.checks->enabled = checks_argument(checks);
  }
  CheckReport check_report;
  args.check_report = &check_report;
  for (auto [key, value] : kwargs) {
    const std::string name = py::str(key);
    if (py::isinstance<PyTensor>(value)) {
      args.device_inputs[name] = tensor_of(value, name).ref();
    } else if (py::isinstance<py::array>(value)) {
      ArrayArg a = array_argument(py::reinterpret_borrow<py::array>(value), name);
      HostTensor& t = args.tensors[name];
      t.dtype = a.dtype;
      t.shape = a.shape;
      const ByteSpan b = a.bytes();
      t.data.assign(b.begin(), b.end());
    } else if (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value) ||
               py::isinstance(value, py::module_::import("numpy").attr("number"))) {
      args.scalars[name] = value.cast<double>();
    } else {
      throw py::type_error("argument '" + name +
                           "': expected a numpy array, a chiprt.DeviceTensor or a number, not " +
                           py::str(value.get_type().attr("__name__")).cast<std::string>());
    }
  }
  if (!out.is_none()) {
    if (!py::isinstance<py::dict>(out)) {
      throw py::type_error("argument 'out': expected a dict of output name to chiprt.DeviceTensor");
    }
    for (auto [key, value] : out.cast<py::dict>()) {
      const std::string name = py::str(key);
      if (!py::isinstance<PyTensor>(value)) {
        throw py::type_error("argument 'out': output '" + name + "' must be a chiprt.DeviceTensor");
      }
      args.device_outputs[name] = tensor_of(value, "out['" + name + "']").ref();
    }
  }
  args.trace = with_report;  // asked for: the report carries the trace
  std::stop_source stop;
  args.stop = stop.get_token();
  Result<RunReport> ran = interruptible([&] { return w.worker->run(id, args); }, &stop);
  if (!ran.ok()) raise_status(ran.status(), &check_report);
  RunReport report = std::move(ran).value();
  py::dict result;
  for (auto& [name, host] : report.outputs) result[py::str(name)] = to_numpy(std::move(host));
  if (!with_report) return result;
  PyRunReport r;
  r.outputs = result;
  r.tasks = report.tasks;
  r.elapsed_us = report.elapsed_us;
  r.orchestration_calls = report.orchestration_calls;
  r.graph_cache_hit = report.graph_cache_hit;
  r.peak_ring_occupancy = report.peak_ring_occupancy;
  r.peak_heap_bytes = report.peak_heap_bytes;
  for (const TaskTrace& t : report.trace) {
    py::dict slice;
    slice["task_id"] = t.task_id;
    slice["func_id"] = t.func_id;
    slice["core_type"] = std::string(core_type_name(static_cast<CoreType>(t.core_type)));
    slice["core_index"] = t.core_index;
    slice["start_us"] = t.start_us;
    slice["end_us"] = t.end_us;
    slice["submit_us"] = t.submit_us;
    slice["kernel"] = kernel_name(report, t.func_id);
    r.trace.append(std::move(slice));
  }
  for (const TaskEdge& e : report.edges) {
    py::dict edge;
    edge["from"] = e.from;
    edge["to"] = e.to;
    edge["kinds"] = dependency_kind_names(e.kinds);
    r.edges.append(std::move(edge));
  }
  for (const OrchestrationSpan& s : report.orchestration) {
    py::dict span;
    span["what"] = orchestration_span_name(s.kind);
    span["task_id"] = s.task_id;
    span["start_us"] = s.start_us;
    span["end_us"] = s.end_us;
    r.orchestration.append(std::move(span));
  }
  if (Result<RunSummary> summary = summarize_run(report); summary.ok()) {
    r.summary = from_json(cli::run_summary_json(*summary));
  }
  r.chrome_trace = cli::chrome_trace_json(report, "run of callable " + std::to_string(id)).dump();
  if (report.checks) r.checks = from_json(cli::check_report_json(*report.checks));
  return py::cast(std::move(r));
}

PyTensor do_to_device(PyWorker& w, const py::array& array) {
  ArrayArg a = array_argument(array, "array");
  PyTensor out{w.worker, {}};
  out.tensor = take(nogil([&]() -> Result<DeviceTensor> {
    CHIPRT_ASSIGN_OR_RETURN(DeviceTensor t, w.worker->alloc_tensor(a.dtype, a.shape));
    CHIPRT_RETURN_IF_ERROR(w.worker->copy_to_device(t, a.bytes()));
    return t;
  }));
  return out;
}

}  // namespace

PYBIND11_MODULE(_chiprt, m) {
  m.doc() = "chiprt: chip callables on simulated AI accelerators (native module)";
  // Log lines (the orchestrations' among them) go to stderr, as the CLI's do: stdout belongs to
  // the program.
  if (!spdlog::get("chiprt")) spdlog::set_default_logger(spdlog::stderr_color_mt("chiprt"));

  // Exceptions: ChiprtError(Exception) with .code, and one subclass per error family.
  Errors& e = errors();
  e.base = PyErr_NewExceptionWithDoc("chiprt.ChiprtError",
                                     "A chiprt call failed; .code is the status name.",
                                     PyExc_Exception, nullptr);
  e.by_name["ChiprtError"] = e.base;
  m.attr("ChiprtError") = py::reinterpret_borrow<py::object>(e.base);
  m.attr("ChiprtError").attr("code") = py::none();
  for (const char* name : {"InvalidImage", "OutOfDeviceMemory", "NotFound", "DeviceLost",
                           "DeadlineExceeded", "InvalidArgument", "Cancelled"}) {
    PyObject* cls = PyErr_NewException((std::string("chiprt.") + name).c_str(), e.base, nullptr);
    e.by_name[name] = cls;
    m.attr(name) = py::reinterpret_borrow<py::object>(cls);
  }
  PyObject* check_failed = PyErr_NewExceptionWithDoc(
      "chiprt.CheckFailed",
      "A checked run found what the chip would get wrong: .findings lists each finding (a dict: "
      "check, tensor, unit, begin, end, message, and task_id, func_id, core_type, core_index "
      "for a task's), .report is the run's whole check report.",
      e.base, nullptr);
  e.by_name["CheckFailed"] = check_failed;
  m.attr("CheckFailed") = py::reinterpret_borrow<py::object>(check_failed);
  m.attr("CheckFailed").attr("findings") = py::none();
  m.attr("CheckFailed").attr("report") = py::none();

  py::class_<PyImage, std::shared_ptr<PyImage>>(m, "Image", py::buffer_protocol(),
                                                "A validated chip callable image")
      .def(py::init([](const py::buffer& data) {
             ImageBytes b = image_bytes(data);
             const ByteSpan s = b.span();
             return std::make_shared<PyImage>(Bytes(s.begin(), s.end()));
           }),
           py::arg("data"))
      .def_static(
          "pack",
          [](const py::object& orch, const py::iterable& kernels, const std::string& name,
             const py::object& signature) {
            std::vector<KernelSource> parts;  // shared_object set once the files are read
            std::vector<std::string> paths{fspath(orch)};
            for (py::handle k : kernels) {
              auto spec = k.cast<py::tuple>();
              if (spec.size() != 3 && spec.size() != 4) {
                throw py::value_error(
                    "kernels: each entry is (func_id, \"aic\"|\"aiv\", path[, name])");
              }
              const auto func_id = spec[0].cast<uint32_t>();
              const auto core = spec[1].cast<std::string>();
              if (core != "aic" && core != "aiv") {
                throw py::value_error("kernel " + std::to_string(func_id) + ": core '" + core +
                                      "' is not \"aic\" or \"aiv\"");
              }
              paths.push_back(fspath(spec[2]));
              // Named as `chiprt pack --kernel` names it: given, or the file's stem.
              std::string kernel_name = spec.size() == 4
                                            ? spec[3].cast<std::string>()
                                            : take(kernel_name_from_path(paths.back()));
              // Checked here too: an empty name alone would otherwise mean "no names".
              if (const std::string defect = kernel_name_defect(kernel_name); !defect.empty()) {
                raise_status(Status(
                    StatusCode::invalid_argument,
                    fmt::format("kernel func_id {}: name '{}' {}", func_id, kernel_name, defect)));
              }
              parts.push_back({func_id,
                               core == "aic" ? CoreType::aic : CoreType::aiv,
                               {},
                               std::move(kernel_name)});
            }
            std::vector<Bytes> blobs;
            for (const std::string& path : paths) blobs.push_back(read_file(path));
            ImageSource source;
            source.name = name;
            source.signature = signature_argument(signature);
            source.orchestration = blobs[0];
            for (size_t i = 0; i < parts.size(); ++i) {
              parts[i].shared_object = blobs[i + 1];
              source.kernels.push_back(std::move(parts[i]));
            }
            return std::make_shared<PyImage>(take(write_image(source)));
          },
          py::arg("orch"), py::arg("kernels") = py::list(), py::arg("name") = "",
          py::arg("signature") = py::none(),
          "Packs an orchestration .so and kernels [(func_id, \"aic\"|\"aiv\", path[, name]), "
          "...] (a kernel's name defaults to its file's stem: \"k\" for \"k.so\"); "
          "signature as `chiprt pack --signature` takes it ('a:f32[*],tile?:scalar -> "
          "f:f32[*]' or a .json file), or the dict of inspect()[\"signature\"]")
      .def_static(
          "load",
          [](const py::object& path) { return std::make_shared<PyImage>(read_file(fspath(path))); },
          py::arg("path"), "Reads and validates an image file (a .chipimg)")
      .def(
          "inspect", [](const PyImage& self) { return from_json(cli::image_json(*self.view)); },
          "The dict `chiprt inspect --json` prints")
      .def("__bytes__",
           [](const PyImage& self) {
             return py::bytes(reinterpret_cast<const char*>(self.bytes.data()), self.bytes.size());
           })
      .def("__len__", [](const PyImage& self) { return self.bytes.size(); })
      .def_property_readonly("name",
                             [](const PyImage& self) { return std::string(self.view->name()); })
      .def_property_readonly("hash",
                             [](const PyImage& self) { return self.view->content_hash().hex(); })
      .def_property_readonly(
          "kernel_names",
          [](const PyImage& self) {
            py::dict names;
            for (const ImageChild& child : self.view->children())
              names[py::int_(child.func_id)] = child.name;
            return names;
          },
          "func_id -> kernel name; \"func N\" for each kernel of an image without names")
      .def_buffer([](PyImage& self) {
        return py::buffer_info(self.bytes.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(self.bytes.size())}, {1}, true);
      })
      .def("__repr__", [](const PyImage& self) {
        return "chiprt.Image(name='" + std::string(self.view->name()) + "', " +
               std::to_string(self.bytes.size()) + " bytes)";
      });

  py::class_<PyCallable>(m, "Callable", "A registration on a worker")
      .def_readonly("id", &PyCallable::id)
      .def_readonly("name", &PyCallable::name)
      .def_readonly("runtime", &PyCallable::runtime)
      .def("__int__", [](const PyCallable& c) { return c.id; })
      .def("__index__", [](const PyCallable& c) { return c.id; })
      .def("__eq__",
           [](const PyCallable& a, const py::object& b) {
             return py::isinstance<PyCallable>(b) && b.cast<const PyCallable&>().id == a.id &&
                    b.cast<const PyCallable&>().runtime == a.runtime;
           })
      .def("__hash__",
           [](const PyCallable& c) { return py::hash(py::make_tuple(c.id, c.runtime)); })
      .def("__repr__", [](const PyCallable& c) {
        return "chiprt.Callable(id=" + std::to_string(c.id) + ", name='" + c.name + "', runtime='" +
               c.runtime + "')";
      });

  py::class_<PyTensor, std::shared_ptr<PyTensor>>(
      m, "DeviceTensor", "A tensor in device memory (freed with the object)")
      .def_property_readonly("shape",
                             [](const PyTensor& t) {
                               py::tuple out(t.tensor.shape().size());
                               for (size_t i = 0; i < t.tensor.shape().size(); ++i)
                                 out[i] = t.tensor.shape()[i];
                               return out;
                             })
      .def_property_readonly("dtype",
                             [](const PyTensor& t) {
                               t.check_live();
                               return numpy_dtype(t.tensor.dtype());
                             })
      .def_property_readonly("nbytes", [](const PyTensor& t) { return t.tensor.bytes(); })
      .def_property_readonly("address", [](const PyTensor& t) { return t.tensor.addr(); })
      .def_property_readonly("freed", [](const PyTensor& t) { return !t.tensor; })
      .def(
          "numpy",
          [](PyTensor& t) {
            t.check_live();
            std::vector<py::ssize_t> shape(t.tensor.shape().begin(), t.tensor.shape().end());
            py::array out(numpy_dtype(t.tensor.dtype()), shape);
            MutableByteSpan dst(static_cast<std::byte*>(out.mutable_data()), t.tensor.bytes());
            check(nogil([&] { return t.worker->copy_from_device(t.tensor, dst); }));
            return out;
          },
          "A copy of the tensor as a new numpy array")
      .def(
          "copy_from",
          [](PyTensor& t, const py::array& array) {
            t.check_live();
            ArrayArg a = array_argument(array, "array");
            if (a.dtype != t.tensor.dtype() || a.shape != t.tensor.shape()) {
              throw py::value_error(
                  "argument 'array': its dtype or shape differs from the tensor's");
            }
            check(nogil([&] { return t.worker->copy_to_device(t.tensor, a.bytes()); }));
          },
          py::arg("array"), "Overwrites the tensor with an array of its dtype and shape")
      .def(
          "free", [](PyTensor& t) { t.tensor.reset(); }, "Frees the device memory now")
      .def("__repr__", [](const PyTensor& t) {
        if (!t.tensor) return std::string("chiprt.DeviceTensor(freed)");
        std::string shape;
        for (int64_t d : t.tensor.shape()) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
        return "chiprt.DeviceTensor(shape=(" + shape + (t.tensor.shape().size() == 1 ? ",)" : ")") +
               ", dtype=" + py::str(numpy_dtype(t.tensor.dtype())).cast<std::string>() + ")";
      });

  py::class_<PyRunReport>(m, "RunReport", "What run(..., report=True) returns")
      .def_readonly("outputs", &PyRunReport::outputs, "output name -> numpy array")
      .def_readonly("tasks", &PyRunReport::tasks)
      .def_readonly("elapsed_us", &PyRunReport::elapsed_us, "the run's wall time on the host")
      .def_readonly("orchestration_calls", &PyRunReport::orchestration_calls,
                    "entry calls, counted at the call (0 for an hbg replay of a cached graph)")
      .def_readonly("graph_cache_hit", &PyRunReport::graph_cache_hit)
      .def_readonly("peak_ring_occupancy", &PyRunReport::peak_ring_occupancy)
      .def_readonly("peak_heap_bytes", &PyRunReport::peak_heap_bytes)
      .def_readonly("trace", &PyRunReport::trace,
                    "one dict per executed task: task_id, func_id, core_type, core_index, "
                    "start_us, end_us (microseconds from the run's start)")
      .def_readonly("edges", &PyRunReport::edges,
                    "one dict per dependency edge: from, to (task ids), kinds ('RAW', 'WAR', "
                    "'WAW', 'reuse', joined by '+')")
      .def_readonly("orchestration", &PyRunReport::orchestration,
                    "the orchestration track: what (submit, sync, waits, record, replay...), "
                    "task_id, start_us, end_us")
      .def_readonly("summary", &PyRunReport::summary,
                    "where the time went, as `chiprt run --report --json` gives it under "
                    "'report': critical_path {us, tasks}, core busy shares, ready waits, "
                    "tasks per kernel, ring and heap high-water marks, dependency counts")
      .def_property_readonly(
          "critical_path",
          [](const PyRunReport& r) -> py::object {
            if (r.summary.is_none()) return py::none();
            return py::object(r.summary["critical_path"]);
          },
          "summary['critical_path']: {'us': ..., 'tasks': [{task, func_id, kernel, us}, ...]}")
      .def_readonly("chrome_trace", &PyRunReport::chrome_trace,
                    "the run as Chrome trace JSON text (Perfetto, chrome://tracing)")
      .def_readonly("checks", &PyRunReport::checks, "a checked run's report, else None")
      .def("__repr__", [](const PyRunReport& r) {
        return "<chiprt.RunReport " + std::to_string(r.tasks) + " tasks, " +
               std::to_string(static_cast<int64_t>(r.elapsed_us)) + " us>";
      });

  py::class_<PyWorker, std::shared_ptr<PyWorker>>(m, "ChipWorker",
                                                  "One runtime on one device (thread-safe)")
      .def(py::init(&new_worker), py::arg("runtime") = "tmr", py::arg("profile") = "a2a3",
           py::arg("device_memory") = uint64_t{1} << 30, py::arg("run_timeout") = 300.0,
           py::arg("stall_timeout") = 30.0, py::arg("checks") = py::none(),
           py::arg("check_seeds") = Checks::kDefaultSeeds, py::arg("check_seed") = py::none(),
           "run_timeout, stall_timeout: seconds; a run past either fails with DeadlineExceeded "
           "and the device is lost until reset(). checks: every run's (\"all\", "
           "\"memcheck,initcheck\", a list of names, or None); a finding raises CheckFailed. "
           "check_seeds: racecheck's schedules; check_seed replays one")
      .def_property_readonly(
          "runtime",
          [](const PyWorker& w) { return std::string(runtime_name(w.worker->runtime())); })
      .def_property_readonly("device", [](const PyWorker& w) { return w.device_index; })
      .def("register", &do_register, py::arg("image"),
           "Registers an Image or the bytes of one; returns its Callable handle")
      .def("unregister", &do_unregister, py::arg("handle"))
      .def("run", &do_run, py::arg("handle"), py::kw_only(), py::arg("out") = py::none(),
           py::arg("checks") = py::none(), py::arg("report") = false,
           "Runs a callable: keywords are numpy arrays, device tensors or numbers; returns the "
           "outputs not written into `out` as numpy arrays. checks: this run's instead of the "
           "worker's (\"none\" for none). report=True returns a RunReport instead: the outputs "
           "and what the run measured, with its trace")
      .def(
          "alloc",
          [](PyWorker& w, const py::object& shape, const py::object& dtype) {
            const uint32_t code = dtype_argument(dtype, "argument 'dtype'");
            std::vector<int64_t> dims = shape_argument(shape);
            PyTensor out{w.worker, {}};
            out.tensor = take(nogil([&] { return w.worker->alloc_tensor(code, dims); }));
            return out;
          },
          py::arg("shape"), py::arg("dtype") = "float32")
      .def("to_device", &do_to_device, py::arg("array"))
      .def(
          "stats", [](PyWorker& w) { return from_json(cli::worker_stats_json(w.worker->stats())); },
          "The worker's entry of `chiprt stats --json`")
      .def(
          "device_stats",
          [](PyWorker& w) {
            return from_json(cli::device_memory_json(w.device_index, w.worker->device().stats()));
          },
          "The device's memory: live and peak bytes, per tag")
      .def(
          "release_idle_memory",
          [](PyWorker& w) {
            nogil([&] {
              w.worker->release_idle_memory();
              return 0;
            });
          },
          "Frees the intermediate heaps no run holds (the next run makes one again)")
      .def("live_handles", &PyWorker::live_handles,
           "Registrations made through this object and not yet unregistered")
      .def(
          "health",
          [](PyWorker& w) -> py::object {
            const Status s = w.worker->device().health();
            if (s.ok()) return py::none();
            return py::str(s.to_string());
          },
          "None while the device is healthy, else why it was lost")
      .def(
          "reset",
          [](PyWorker& w) {
            check(interruptible([&] { return w.worker->reset(); }));
            std::lock_guard lock(w.mutex);
            w.live.clear();
          },
          "Starts a fresh device; every registration on it is gone")
      .def("finalize",
           [](PyWorker& w) {
             interruptible([&] {
               w.worker->finalize();
               return 0;
             });
           })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__",
           [](PyWorker& w, py::args) {
             interruptible([&] {
               w.worker->finalize();
               return 0;
             });
             return false;
           })
      .def("__repr__", [](const PyWorker& w) {
        return "chiprt.ChipWorker(runtime='" + std::string(runtime_name(w.worker->runtime())) +
               "', device=" + std::to_string(w.device_index) + ")";
      });

  struct PyPool {
    std::shared_ptr<WorkerPool> pool;
    Checks checks;
    std::map<std::pair<std::string, size_t>, std::shared_ptr<PyWorker>> workers;
    std::mutex mutex;
    std::string repr;  // what it was made with, as a call that makes it again
  };
  py::class_<PyPool, std::shared_ptr<PyPool>>(m, "WorkerPool", "One worker per (runtime, device)")
      .def(py::init([](size_t devices, const std::string& profile, uint64_t device_memory,
                       const std::vector<std::string>& runtimes, double run_timeout,
                       double stall_timeout, const py::object& checks, uint32_t check_seeds,
                       std::optional<uint64_t> check_seed) {
             WorkerPoolOptions o;
             o.worker.run_timeout = deadline_argument(run_timeout, "run_timeout");
             o.worker.stall_timeout = deadline_argument(stall_timeout, "stall_timeout");
             o.worker.checks = worker_checks(checks, check_seeds, check_seed);
             o.devices = devices;
             o.profile = profile;
             o.device_memory_bytes = device_memory;
             o.runtimes.clear();
             for (const std::string& r : runtimes) o.runtimes.push_back(take(parse_runtime(r)));
             auto out = std::make_shared<PyPool>();
             out->checks = o.worker.checks;
             out->pool =
                 std::shared_ptr<WorkerPool>(take(nogil([&] { return WorkerPool::create(o); })));
             std::string names;
             for (const std::string& r : runtimes) names += (names.empty() ? "'" : ", '") + r + "'";
             out->repr =
                 "chiprt.WorkerPool(devices=" + std::to_string(devices) + ", profile='" + profile +
                 "', device_memory=" + std::to_string(device_memory) + ", runtimes=(" + names +
                 (runtimes.size() == 1 ? ",)" : ")") +
                 (o.worker.checks.any() ? ", checks='" + o.worker.checks.names() + "'" : "") + ")";
             return out;
           }),
           py::arg("devices") = 1, py::arg("profile") = "a2a3",
           py::arg("device_memory") = uint64_t{1} << 30,
           py::arg("runtimes") = std::vector<std::string>{"tmr", "hbg"},
           py::arg("run_timeout") = 300.0, py::arg("stall_timeout") = 30.0,
           py::arg("checks") = py::none(), py::arg("check_seeds") = Checks::kDefaultSeeds,
           py::arg("check_seed") = py::none(),
           "checks, check_seeds, check_seed: every worker's, as ChipWorker takes them")
      .def_property_readonly("device_count", [](const PyPool& p) { return p.pool->device_count(); })
      .def(
          "worker",
          [](PyPool& p, const std::string& runtime, size_t device) {
            const RuntimeKind kind = take(parse_runtime(runtime));
            std::lock_guard lock(p.mutex);
            auto& slot = p.workers[{runtime, device}];
            if (!slot) {
              ChipWorker* raw = take(p.pool->worker(kind, device));
              slot = make_worker(std::shared_ptr<ChipWorker>(p.pool, raw), device, p.checks);
            }
            return slot;
          },
          py::arg("runtime") = "tmr", py::arg("device") = 0)
      .def(
          "stats", [](PyPool& p) { return from_json(cli::pool_stats_json(p.pool->stats())); },
          "The dict of `chiprt stats --json` (at one moment)")
      .def("finalize",
           [](PyPool& p) {
             nogil([&] {
               p.pool->finalize();
               return 0;
             });
           })
      .def("__repr__", [](const PyPool& p) { return p.repr; })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyPool& p, py::args) {
        nogil([&] {
          p.pool->finalize();
          return 0;
        });
        return false;
      });
}

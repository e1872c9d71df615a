#include "churn_driver.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/resident_memory.h"
#include "cli_common.h"
#include "example_images.h"
#include "interrupt.h"
#include "legacy_worker.h"
#include "progress.h"

namespace chiprt::cli {
namespace {

using Clock = std::chrono::steady_clock;

// What the driver registers against: a pool worker or the legacy model.
struct Target {
  size_t device;
  ChipWorker* worker = nullptr;
  std::unique_ptr<LegacyWorker> legacy;
  std::vector<std::atomic<bool>> seen;  // distinct images this target received

  Result<CallableId> add(ByteSpan image) {
    return legacy ? legacy->register_callable(image) : worker->register_callable(image);
  }
  Status remove(CallableId id) {
    return legacy ? legacy->unregister_callable(id) : worker->unregister_callable(id);
  }
  uint64_t registrations() const {
    return legacy ? legacy->registrations_live() : worker->stats().registrations_live;
  }
  uint64_t buffers() const {
    return legacy ? legacy->buffers_live() : worker->stats().distinct_buffers_live;
  }
};

class Churn {
 public:
  Churn(const ChurnConfig& config, std::vector<Bytes> images, WorkerPool& pool)
      : config_(config), images_(std::move(images)), pool_(pool), args_(vector_run_args(32, 32)) {
    args_.stop = interrupt_token();
  }

  Status prepare() {
    const size_t count = config_.workers ? config_.workers : config_.devices;
    for (size_t w = 0; w < count; ++w) {
      auto target = std::make_unique<Target>();
      target->device = w % config_.devices;
      target->seen = std::vector<std::atomic<bool>>(images_.size());
      CHIPRT_ASSIGN_OR_RETURN(target->worker, pool_.worker(config_.runtime, target->device));
      if (config_.legacy)
        target->legacy = std::make_unique<LegacyWorker>(pool_.device(target->device));
      targets_.push_back(std::move(target));
    }
    return Status::Ok();
  }

  void sample(size_t device) {
    if (!config_.timeline) return;
    TimelineSample s{
        std::chrono::duration<double>(Clock::now() - start_).count(), ++ops_, device, {}, 0, 0};
    const DeviceStats stats = pool_.device(device).stats();
    for (size_t t = 0; t < kMemoryTagCount; ++t) s.live_bytes[t] = stats.tags[t].live_bytes;
    s.host_pid = getpid();
    s.host_resident_bytes = resident_memory().resident_bytes;
    s.device_pid = stats.process.pid;
    s.device_resident_bytes = stats.process.resident_bytes;
    for (const auto& target : targets_) {
      if (target->device != device) continue;
      s.buffers += target->buffers();
      s.registrations += target->registrations();
    }
    config_.timeline->record(s);
  }

  // One registration: register, run K times, and in rolling mode release at once.
  Status step(uint64_t i, std::vector<std::pair<Target*, CallableId>>& held) {
    Target& target = *targets_[i % targets_.size()];
    const size_t image = i % images_.size();
    CHIPRT_ASSIGN_OR_RETURN(CallableId id, target.add(images_[image]));
    target.seen[image] = true;
    sample(target.device);
    for (size_t r = 0; r < config_.runs_per_callable && !target.legacy; ++r) {
      CHIPRT_ASSIGN_OR_RETURN(RunReport report, target.worker->run(id, args_));
      ++runs_;
      if (!is_vector_golden(report, 32 * 32)) ++wrong_outputs_;
    }
    if (config_.rolling) {
      CHIPRT_RETURN_IF_ERROR(target.remove(id));
      sample(target.device);
    } else {
      held.emplace_back(&target, id);
    }
    return Status::Ok();
  }

  Status run(Progress& progress) {
    start_ = Clock::now();
    const auto deadline = start_ + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(config_.duration_s));
    std::vector<std::vector<std::pair<Target*, CallableId>>> held(config_.threads);
    std::vector<Status> failures(config_.threads);
    parallel([&](size_t thread) {
      for (;;) {
        if (config_.duration_s > 0 ? Clock::now() >= deadline : next_ >= config_.callables) return;
        if (interrupt_token().stop_requested()) {
          failures[thread] = Status(StatusCode::cancelled, "interrupted");
          return;
        }
        const uint64_t i = next_++;
        if (config_.duration_s <= 0 && i >= config_.callables) return;
        if (Status s = step(i, held[thread]); !s.ok()) {
          failures[thread] = std::move(s);
          return;
        }
        ++registrations_;
        progress.advance();
      }
    });
    at_peak_ = pool_.stats();
    parallel([&](size_t thread) {
      for (auto [target, id] : held[thread]) {
        if (Status s = target->remove(id); !s.ok() && failures[thread].ok()) failures[thread] = s;
        sample(target->device);
      }
    });
    elapsed_s_ = std::chrono::duration<double>(Clock::now() - start_).count();
    // Workers keep the intermediate heaps of their runs for later runs: let them go, so that
    // the end is measured against the baseline (taken before any run).
    for (const auto& target : targets_) {
      if (target->worker != nullptr && !target->legacy) target->worker->release_idle_memory();
    }
    for (Status& s : failures) CHIPRT_RETURN_IF_ERROR(s);
    return Status::Ok();
  }

  ChurnResult figures() {
    ChurnResult r;
    r.registrations = registrations_;
    r.runs = runs_;
    r.wrong_outputs = wrong_outputs_;
    r.distinct_images = images_.size();
    r.elapsed_s = elapsed_s_;
    r.at_peak = at_peak_;
    r.at_end = pool_.stats();
    r.devices.resize(config_.devices);
    for (size_t d = 0; d < config_.devices; ++d) {
      const DeviceStats stats = pool_.device(d).stats();
      DeviceFigures& f = r.devices[d];
      f.baseline_bytes = baselines_.at(d);
      f.peak_bytes = stats.peak_bytes;
      const TagStats& callable = stats.tag(MemoryTag::callable);
      f.callable_bytes_peak = callable.peak_bytes;
      f.live_bytes_after_unregister = stats.live_bytes;
      f.callable_allocations = callable.total_allocations;
      f.callable_upload_bytes = callable.upload_bytes;
      f.orch_uploads = callable.reuploads;
    }
    for (const auto& target : targets_) {
      DeviceFigures& f = r.devices[target->device];
      f.callable_buffers_live_after_unregister += target->buffers();
      for (size_t i = 0; i < images_.size(); ++i) {
        if (target->seen[i]) f.distinct_image_alloc_bytes += alloc_bytes_[i];
      }
    }
    for (uint64_t bytes : alloc_bytes_) r.distinct_image_alloc_bytes += bytes;
    return r;
  }

  Status measure_baseline() {
    for (size_t d = 0; d < config_.devices; ++d)
      baselines_.push_back(pool_.device(d).stats().live_bytes);
    for (const Bytes& image : images_) {
      CHIPRT_ASSIGN_OR_RETURN(ImageView view, ImageView::parse(image));
      const uint64_t bytes = config_.legacy ? image.size() + view.orch_size()
                                            : callable_device_bytes(view, config_.runtime);
      alloc_bytes_.push_back(config_.legacy ? pool_.device(0).allocation_size(image.size()) +
                                                  pool_.device(0).allocation_size(view.orch_size())
                                            : pool_.device(0).allocation_size(bytes));
    }
    return Status::Ok();
  }

  void release_legacy() {
    for (auto& target : targets_) {
      if (target->legacy) target->legacy->finalize();
    }
  }

 private:
  template <typename Fn>
  void parallel(Fn fn) {
    std::vector<std::thread> threads;
    for (size_t t = 0; t < config_.threads; ++t) threads.emplace_back(fn, t);
    for (auto& thread : threads) thread.join();
  }

  const ChurnConfig& config_;
  const std::vector<Bytes> images_;
  WorkerPool& pool_;
  RunArgs args_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<uint64_t> baselines_;
  std::vector<uint64_t> alloc_bytes_;
  Clock::time_point start_ = Clock::now();
  std::atomic<uint64_t> ops_{0}, next_{0}, registrations_{0}, runs_{0}, wrong_outputs_{0};
  WorkerPoolStats at_peak_;
  double elapsed_s_ = 0;
};

}  // namespace

Result<ChurnResult> run_churn(const ChurnConfig& config) {
  if (config.distinct == 0 || config.threads == 0 || config.devices == 0 ||
      (config.callables == 0 && config.duration_s <= 0)) {
    return Status(StatusCode::invalid_argument,
                  "--callables (or --duration), --distinct, --threads and --devices must be > 0");
  }
  if (config.workers > config.devices) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("--workers {} exceeds the {} (runtime, device) workers of the pool",
                              config.workers, config.devices));
  }
  CHIPRT_ASSIGN_OR_RETURN(ExampleParts parts, load_vector_parts(config.examples));
  // No more distinct images than registrations: the figures speak of what was registered.
  const size_t distinct =
      config.duration_s > 0 ? config.distinct : std::min(config.distinct, config.callables);
  CHIPRT_ASSIGN_OR_RETURN(std::vector<Bytes> images,
                          make_distinct_images(parts, distinct, "churn"));
  if (!config.save_images.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config.save_images, ec);
    for (size_t i = 0; i < images.size(); ++i) {
      CHIPRT_RETURN_IF_ERROR(
          write_file(config.save_images / fmt::format("churn_{:04}.chipimg", i), images[i]));
    }
  }
  WorkerPoolOptions pool_options;
  pool_options.devices = config.devices;
  pool_options.profile = config.profile;
  pool_options.device_memory_bytes = config.device_memory;
  pool_options.runtimes = {config.runtime};
  CHIPRT_ASSIGN_OR_RETURN(auto pool, WorkerPool::create(pool_options));

  Churn churn(config, std::move(images), *pool);
  CHIPRT_RETURN_IF_ERROR(churn.prepare());
  CHIPRT_RETURN_IF_ERROR(churn.measure_baseline());
  {
    Progress progress(config.progress, config.duration_s > 0 ? 0 : config.callables,
                      config.duration_s);
    CHIPRT_RETURN_IF_ERROR(churn.run(progress));
  }
  ChurnResult result = churn.figures();
  churn.release_legacy();
  return result;
}

}  // namespace chiprt::cli

// chiprt churn: register and unregister many callables on one simulated chip and report the
// device-memory figures that show one copy per distinct image and release on unregister.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "chiprt/worker.h"
#include "cli_common.h"
#include "example_images.h"

namespace chiprt::cli {
namespace {

struct ChurnOptions {
  size_t callables = 500;
  size_t distinct = 50;
  std::string pattern = "all";
  std::string runtime = "tmr";
  std::string profile = "a2a3";
  uint64_t device_memory = 1ull << 30;
  std::string examples;
  bool json = false;
};

nlohmann::json churn(const ChurnOptions& options) {
  const RuntimeKind runtime = take(parse_runtime(options.runtime), kExitBadInput);
  if (options.distinct == 0 || options.callables == 0) {
    fail(kExitBadInput, Status(StatusCode::invalid_argument, "--callables and --distinct must be > 0"));
  }
  const ExampleParts parts = take(load_vector_parts(examples_dir(options.examples)));
  const std::vector<Bytes> images = take(make_distinct_images(parts, options.distinct, "churn"));

  auto device = create_sim_chip(take(chip_profile(options.profile), kExitBadInput), options.device_memory);
  if (!device) fail(kExitFailure, Status(StatusCode::out_of_device_memory, "cannot create the device"));
  WorkerOptions worker_options;
  worker_options.runtime = runtime;
  auto worker = take(ChipWorker::create(device, worker_options));
  const uint64_t baseline = device->stats().live_bytes;

  uint64_t distinct_alloc = 0;
  for (const Bytes& image : images) {
    const ImageView view = take(ImageView::parse(image));
    distinct_alloc += device->allocation_size(callable_device_bytes(view, runtime));
  }

  const auto start = std::chrono::steady_clock::now();
  std::vector<CallableId> ids;
  ids.reserve(options.callables);
  for (size_t i = 0; i < options.callables; ++i) {
    const CallableId id = take(worker->register_callable(images[i % images.size()]));
    if (options.pattern == "rolling") {
      check(worker->unregister_callable(id));
    } else {
      ids.push_back(id);
    }
  }
  for (CallableId id : ids) check(worker->unregister_callable(id));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const WorkerStats stats = worker->stats();
  nlohmann::json out;
  out["runtime"] = options.runtime;
  out["pattern"] = options.pattern;
  out["registrations"] = stats.registrations_total;
  out["distinct_images"] = images.size();
  out["distinct_image_alloc_bytes"] = distinct_alloc;
  out["device"] = {
      {"capacity_bytes", stats.device.capacity_bytes},
      {"baseline_bytes", baseline},
      {"peak_bytes", stats.device.peak_bytes},
      {"callable_bytes_peak", stats.device.tag(MemoryTag::callable).peak_bytes},
      {"live_bytes_after_unregister", stats.device.live_bytes},
      {"callable_buffers_live_after_unregister", stats.distinct_buffers_live},
      {"orch_uploads", stats.orch_uploads},
  };
  out["buffers_created"] = stats.buffers_created;
  out["loads"] = stats.loads;
  out["unloads"] = stats.unloads;
  out["elapsed_s"] = elapsed;
  return out;
}

void print_table(const nlohmann::json& r) {
  const auto& d = r["device"];
  fmt::print("churn: {} registrations of {} distinct images ({}, pattern {}) in {:.3f} s\n",
             r["registrations"].get<uint64_t>(), r["distinct_images"].get<uint64_t>(),
             r["runtime"].get<std::string>(), r["pattern"].get<std::string>(),
             r["elapsed_s"].get<double>());
  const std::pair<const char*, uint64_t> rows[] = {
      {"distinct image alloc bytes", r["distinct_image_alloc_bytes"].get<uint64_t>()},
      {"device baseline bytes", d["baseline_bytes"].get<uint64_t>()},
      {"device peak bytes", d["peak_bytes"].get<uint64_t>()},
      {"callable bytes peak", d["callable_bytes_peak"].get<uint64_t>()},
      {"live bytes after unregister", d["live_bytes_after_unregister"].get<uint64_t>()},
      {"callable buffers live after", d["callable_buffers_live_after_unregister"].get<uint64_t>()},
      {"separate orchestration uploads", d["orch_uploads"].get<uint64_t>()},
      {"code loads", r["loads"].get<uint64_t>()},
  };
  for (const auto& [label, value] : rows) fmt::print("  {:<32} {:>14}\n", label, value);
}

}  // namespace

void add_churn_command(CLI::App& app) {
  auto options = std::make_shared<ChurnOptions>();
  CLI::App* cmd = app.add_subcommand("churn", "Register/unregister many callables; report device memory");
  cmd->add_option("--callables", options->callables, "registrations to make")->check(CLI::PositiveNumber);
  cmd->add_option("--distinct", options->distinct, "distinct images cycled over")->check(CLI::PositiveNumber);
  cmd->add_option("--pattern", options->pattern, "all | rolling")->check(CLI::IsMember({"all", "rolling"}));
  cmd->add_option("--runtime", options->runtime, "tmr | hbg")->check(CLI::IsMember({"tmr", "hbg"}));
  cmd->add_option("--profile", options->profile, "chip profile: a2a3 | a5");
  cmd->add_option("--device-memory", options->device_memory, "device capacity in bytes");
  cmd->add_option("--examples", options->examples, "directory of the example .so files");
  cmd->add_flag("--json", options->json, "print JSON");
  cmd->callback([options] {
    const nlohmann::json result = churn(*options);
    if (options->json) {
      std::cout << result.dump(2) << "\n";
    } else {
      print_table(result);
    }
  });
}

}  // namespace chiprt::cli

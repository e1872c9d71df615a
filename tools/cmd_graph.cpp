// chiprt graph IMG --runtime R --arg ... --format dot|svg -o FILE: the task graph of one run
// (nodes by kernel name, edges by dependency kind, the critical path in red). hbg records the
// graph without replaying it; tmr runs the callable, traced. Exit 2 for bad input, 1 when the
// run fails.
#include <fmt/format.h>

#include "chiprt/worker.h"
#include "cli_common.h"
#include "cli_run_args.h"
#include "graph_svg.h"
#include "interrupt.h"
#include "run_trace_export.h"

namespace chiprt::cli {
namespace {

struct GraphOptions : RunTarget {
  std::string format = "dot";
  std::string output;
};

void graph_command(const GraphOptions& o) {
  const RuntimeKind runtime = take(parse_runtime(o.runtime), kExitBadInput);
  const ChipProfile profile = take(chip_profile(o.profile), kExitBadInput);
  const Bytes image = take(read_file(o.image), kExitBadInput);
  const ImageView view = take(parse_image_file(image, o.image), kExitBadInput);
  RunArgs args = run_args_from_cli(o.args, o.scalars);
  require_writable(o.output);

  auto device = create_sim_chip(profile, o.device_memory);
  if (!device)
    fail(kExitFailure, Status(StatusCode::out_of_device_memory, "cannot create the device"));
  WorkerOptions options;
  options.runtime = runtime;
  auto worker = take(ChipWorker::create(device, options));
  const CallableId id = take(worker->register_callable(image));
  args.stop = interrupt_token();
  auto report = worker->graph(id, args);
  if (!report.ok() && report.status().code() == StatusCode::invalid_argument) {
    fail(kExitBadInput, report.status());
  }
  const RunReport graph = take(std::move(report));
  check(worker->unregister_callable(id));

  const std::string dot =
      graph_dot(graph, fmt::format("'{}' on {}: {} task{}, {} dependenc{}", view.name(), o.runtime,
                                   graph.trace.size(), graph.trace.size() == 1 ? "" : "s",
                                   graph.edges.size(), graph.edges.size() == 1 ? "y" : "ies"));
  const std::string text = o.format == "svg" ? take(render_svg(dot)) : dot;
  check(write_file(o.output, as_bytes(text)));
  fmt::print("wrote {}: {} task{}, {} dependenc{}\n", o.output, graph.trace.size(),
             graph.trace.size() == 1 ? "" : "s", graph.edges.size(),
             graph.edges.size() == 1 ? "y" : "ies");
}

}  // namespace

void add_graph_command(CLI::App& app) {
  auto o = std::make_shared<GraphOptions>();
  CLI::App* cmd = app.add_subcommand(
      "graph", "Draw the task graph of one run (hbg: recorded, not replayed) as DOT or SVG");
  add_run_target_options(*cmd, *o);
  cmd->add_option("--format", o->format, "dot | svg")->check(CLI::IsMember({"dot", "svg"}));
  cmd->add_option("-o,--output", o->output, "file to write")->required();
  cmd->callback([o] { graph_command(*o); });
}

}  // namespace chiprt::cli

// chiprt inspect IMG [--json]: the validated view of an image; exit 2 on a malformed one.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "chiprt/image.h"
#include "cli_common.h"
#include "json_report.h"

namespace chiprt::cli {

void add_inspect_command(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("inspect", "Validate an image and describe it");
  cmd->add_option("image", options->path, "image file")->required();
  cmd->add_flag("--json", options->json, "print JSON");
  cmd->callback([options] {
    const Bytes bytes = take(read_file(options->path), kExitBadInput);
    const ImageView view = take(parse_image_file(bytes, options->path), kExitBadInput);
    const nlohmann::json out = image_json(view);
    if (options->json) {
      std::cout << out.dump(2) << "\n";
      return;
    }
    fmt::print("image {} (version {}, {} bytes, hash {})\n", options->path,
               out["version"].get<std::string>(), view.size(), view.content_hash().hex());
    fmt::print("  name           {}\n", view.name());
    fmt::print("  header         [0, {})\n", view.header_size());
    fmt::print("  orchestration  [{}, +{})\n", view.orch_offset(), view.orch_size());
    if (view.signature().empty()) {
      fmt::print("  signature      none\n");
    } else {
      fmt::print("  signature      [{}, +{}) {}\n", view.signature_offset(), view.signature_size(),
                 format_signature(view.signature()));
    }
    if (view.kernel_names_size() == 0) {
      fmt::print("  kernel names   none (shown as func N)\n");
    } else {
      fmt::print("  kernel names   [{}, +{})\n", view.size() - view.kernel_names_size(),
                 view.kernel_names_size());
    }
    fmt::print("  {:>8}  {:>4}  {:>10}  {:>10}  {}\n", "func_id", "core", "offset", "bytes",
               "name");
    for (const ImageChild& child : view.children()) {
      fmt::print("  {:>8}  {:>4}  {:>10}  {:>10}  {}\n", child.func_id, core_type_name(child.core),
                 child.offset, child.size, child.name);
    }
  });
}

}  // namespace chiprt::cli

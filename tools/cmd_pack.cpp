// chiprt pack --orch O.so --kernel FUNC_ID:aic|aiv:K.so ... [--name N] -o OUT.chipimg
#include <fmt/format.h>

#include <charconv>

#include "chiprt/image.h"
#include "cli_common.h"

namespace chiprt::cli {
namespace {

struct KernelSpec {
  uint32_t func_id;
  CoreType core;
  std::string path;
};

Result<KernelSpec> parse_kernel_spec(const std::string& spec) {
  const auto first = spec.find(':');
  const auto second = first == std::string::npos ? first : spec.find(':', first + 1);
  if (second == std::string::npos) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("--kernel '{}' is not FUNC_ID:aic|aiv:PATH", spec));
  }
  KernelSpec out;
  const auto id = spec.substr(0, first);
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), out.func_id);
  if (ec != std::errc() || end != id.data() + id.size()) {
    return Status(StatusCode::invalid_argument, fmt::format("bad func_id '{}'", id));
  }
  const auto core = spec.substr(first + 1, second - first - 1);
  if (core == "aic") {
    out.core = CoreType::aic;
  } else if (core == "aiv") {
    out.core = CoreType::aiv;
  } else {
    return Status(StatusCode::invalid_argument, fmt::format("core '{}' is not aic or aiv", core));
  }
  out.path = spec.substr(second + 1);
  return out;
}

}  // namespace

void add_pack_command(CLI::App& app) {
  struct Options {
    std::string orch, output, name;
    std::vector<std::string> kernels;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("pack", "Pack an orchestration and kernels into an image");
  cmd->add_option("--orch", options->orch, "orchestration shared object")->required();
  cmd->add_option("--kernel", options->kernels, "FUNC_ID:aic|aiv:KERNEL.so (repeatable)");
  cmd->add_option("--name", options->name, "label stored in the image header");
  cmd->add_option("-o,--output", options->output, "output image")->required();
  cmd->callback([options] {
    require_writable(options->output);
    const Bytes orch = take(read_file(options->orch), kExitBadInput);
    std::vector<Bytes> kernel_bytes;
    ImageSource source{orch, {}, options->name};
    std::vector<KernelSpec> specs;
    for (const auto& text : options->kernels) {
      specs.push_back(take(parse_kernel_spec(text), kExitBadInput));
      kernel_bytes.push_back(take(read_file(specs.back().path), kExitBadInput));
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      source.kernels.push_back({specs[i].func_id, specs[i].core, kernel_bytes[i]});
    }
    const Bytes image = take(write_image(source), kExitBadInput);
    // Pack only what a runtime will accept.
    check(ImageView::parse(image).status(), kExitBadInput);
    check(write_file(options->output, image));
  });
}

}  // namespace chiprt::cli

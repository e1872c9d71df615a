// chiprt pack --orch O.so --kernel FUNC_ID:aic|aiv:K.so[:NAME] ... [--name N]
//             [--signature 'a:f32[2],tile?:scalar -> f:f32[2]' | --signature SIG.json] -o
//             OUT.chipimg
#include <fmt/format.h>

#include <charconv>

#include "chiprt/abi/kernel.h"
#include "chiprt/abi/orchestration.h"
#include "chiprt/image.h"
#include "cli_common.h"
#include "format/elf_symbols.h"
#include "json_report.h"

namespace chiprt::cli {
namespace {

struct KernelSpec {
  uint32_t func_id;
  CoreType core;
  std::string path;
  std::string name;
};

// FUNC_ID:aic|aiv:PATH[:NAME]. A name holds no ':', so a ':' after the core starts the name; a
// PATH with a ':' in it needs an explicit name.
Result<KernelSpec> parse_kernel_spec(const std::string& spec) {
  const auto first = spec.find(':');
  const auto second = first == std::string::npos ? first : spec.find(':', first + 1);
  if (second == std::string::npos) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("--kernel '{}' is not FUNC_ID:aic|aiv:PATH[:NAME]", spec));
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
  const auto third = spec.rfind(':');
  out.path = spec.substr(second + 1, third == second ? std::string::npos : third - second - 1);
  if (third == second) {
    auto stem = kernel_name_from_path(out.path);
    if (!stem.ok()) {
      return std::move(stem).status().annotate(
          fmt::format("--kernel '{}' (give one as FUNC_ID:aic|aiv:PATH:NAME)", spec));
    }
    out.name = std::move(stem).value();
    return out;
  }
  out.name = spec.substr(third + 1);
  if (const std::string defect = kernel_name_defect(out.name); !defect.empty()) {
    return Status(StatusCode::invalid_argument,
                  fmt::format("--kernel '{}': kernel name '{}' {}", spec, out.name, defect));
  }
  return out;
}

// The text form, or a JSON file (a name ending in .json) in the form `inspect --json` prints.
Result<Signature> read_signature(const std::string& spec) {
  if (!spec.ends_with(".json")) {
    auto parsed = parse_signature(spec);
    if (!parsed.ok()) return std::move(parsed).status().annotate("--signature");
    return parsed;
  }
  CHIPRT_ASSIGN_OR_RETURN(const Bytes bytes, read_file(spec));
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Status(StatusCode::invalid_argument, fmt::format("{} is not valid JSON", spec));
  }
  auto parsed = signature_from_json(json);
  if (!parsed.ok()) return std::move(parsed).status().annotate(spec);
  return parsed;
}

// Exit 2 naming `path` unless the shared object exports `entry`.
void require_entry(const std::string& path, const Bytes& bytes, const char* entry) {
  const bool exported = take(format::exports_function(bytes, entry), kExitBadInput);
  if (!exported) {
    fail(kExitBadInput,
         Status(StatusCode::symbol_not_found, fmt::format("{} does not export {}", path, entry)));
  }
}

// " (func_id:core:name, ...)" of the kernels packed.
std::string kernel_list(const std::vector<KernelSpec>& specs) {
  std::string out;
  for (const KernelSpec& k : specs) {
    out += fmt::format("{}{}:{}:{}", out.empty() ? " (" : ", ", k.func_id, core_type_name(k.core),
                       k.name);
  }
  return out.empty() ? out : out + ")";
}

}  // namespace

void add_pack_command(CLI::App& app) {
  struct Options {
    std::string orch, output, name, signature;
    std::vector<std::string> kernels;
  };
  auto options = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("pack", "Pack an orchestration and kernels into an image");
  cmd->add_option("--orch", options->orch, "orchestration shared object")->required();
  cmd->add_option("--kernel", options->kernels,
                  "FUNC_ID:aic|aiv:KERNEL.so[:NAME] (repeatable); NAME defaults to the file's "
                  "name without its extension; letters, digits and _.+- only");
  cmd->add_option("--name", options->name, "label stored in the image header");
  cmd->add_option("--signature", options->signature,
                  "arguments and outputs, e.g. 'a:f32[2],b:f32[2],tile?:scalar -> f:f32[2]' "
                  "(NAME[?]:DTYPE[RANK] or NAME[?]:scalar; ? optional, [*] any rank), or a "
                  ".json file");
  cmd->add_option("-o,--output", options->output, "output image")->required();
  cmd->callback([options] {
    require_writable(options->output);
    Signature signature;
    if (!options->signature.empty()) {
      signature = take(read_signature(options->signature), kExitBadInput);
    }
    const Bytes orch = take(read_file(options->orch), kExitBadInput);
    std::vector<Bytes> kernel_bytes;
    ImageSource source{orch, {}, options->name, std::move(signature)};
    std::vector<KernelSpec> specs;
    for (const auto& text : options->kernels) {
      specs.push_back(take(parse_kernel_spec(text), kExitBadInput));
      kernel_bytes.push_back(take(read_file(specs.back().path), kExitBadInput));
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      source.kernels.push_back({specs[i].func_id, specs[i].core, kernel_bytes[i], specs[i].name});
    }
    // Each part exports the entry its runtime calls: found here, not when a run first needs it.
    require_entry(options->orch, orch, CHIPRT_ORCH_ENTRY_SYMBOL);
    for (size_t i = 0; i < specs.size(); ++i) {
      require_entry(specs[i].path, kernel_bytes[i], CHIPRT_KERNEL_ENTRY_SYMBOL);
    }
    const Bytes image = take(write_image(source), kExitBadInput);
    // Pack only what a runtime will accept.
    const ImageView view = take(ImageView::parse(image), kExitBadInput);
    check(write_file(options->output, image));
    fmt::print("packed {}: {} bytes, hash {}, orchestration {} bytes, {} kernel{}{}\n",
               options->output, image.size(), view.content_hash().hex(), view.orch_size(),
               specs.size(), specs.size() == 1 ? "" : "s", kernel_list(specs));
  });
}

}  // namespace chiprt::cli

#include <fmt/format.h>

#include <array>
#include <utility>

#include "chiprt/check.h"

namespace chiprt {
namespace {
constexpr std::array<std::pair<std::string_view, uint32_t>, 3> kNames{{
    {"memcheck", Checks::kMemcheck},
    {"racecheck", Checks::kRacecheck},
    {"initcheck", Checks::kInitcheck},
}};
}  // namespace

Result<Checks> Checks::parse(std::string_view list) {
  Checks out;
  if (list == "all") {
    out.enabled = kAll;
    return out;
  }
  if (list.empty() || list == "none") return out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    bool known = false;
    for (const auto& [check, bit] : kNames) {
      if (name == check) {
        out.enabled |= bit;
        known = true;
      }
    }
    if (!known) {
      return Status(StatusCode::invalid_argument,
                    fmt::format("unknown check '{}': the checks are memcheck, racecheck, "
                                "initcheck, or all",
                                name));
    }
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return out;
}

std::string Checks::names() const {
  std::string out;
  for (const auto& [check, bit] : kNames) {
    if (!has(bit)) continue;
    if (!out.empty()) out += ",";
    out += check;
  }
  return out.empty() ? "none" : out;
}

}  // namespace chiprt

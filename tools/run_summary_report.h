// A RunSummary (chiprt/run_summary.h) as `run --json` carries it ("report") and as
// `run --report` prints it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "chiprt/run_summary.h"

namespace chiprt::cli {

nlohmann::json run_summary_json(const RunSummary& summary);
std::string run_summary_text(const RunSummary& summary);

}  // namespace chiprt::cli

// The churn options shared by `chiprt churn` and `chiprt stats`.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "churn_driver.h"

namespace chiprt::cli {

struct ChurnCliOptions {
  ChurnConfig config;
  std::string runtime = "tmr";
  std::string pattern = "all";
  std::string examples;
  std::string timeline_csv;
  std::string plot_svg;
  bool compare_legacy = false;
  bool json = false;
};

void add_churn_options(CLI::App& cmd, ChurnCliOptions& o);
// The config with runtime, pattern and examples resolved; exits 2 on a bad value.
ChurnConfig resolve_churn_options(const ChurnCliOptions& o);

}  // namespace chiprt::cli

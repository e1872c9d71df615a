// DOT text laid out and drawn as SVG by Graphviz (libgvc, the `dot` layout).
#pragma once

#include <string>

#include "chiprt/status.h"

namespace chiprt::cli {

Result<std::string> render_svg(const std::string& dot);

}  // namespace chiprt::cli

#include "graph_svg.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <memory>

namespace chiprt::cli {
namespace {
struct ContextFree {
  void operator()(GVC_t* gvc) const { gvFreeContext(gvc); }
};
struct GraphClose {
  void operator()(Agraph_t* graph) const { agclose(graph); }
};
}  // namespace

Result<std::string> render_svg(const std::string& dot) {
  std::unique_ptr<GVC_t, ContextFree> gvc(gvContext());
  if (!gvc) return Status(StatusCode::internal, "graphviz: no context");
  std::unique_ptr<Agraph_t, GraphClose> graph(agmemread(dot.c_str()));
  if (!graph) return Status(StatusCode::invalid_argument, "graphviz could not read the graph");
  if (gvLayout(gvc.get(), graph.get(), "dot") != 0) {
    return Status(StatusCode::internal, "graphviz could not lay the graph out");
  }
  char* data = nullptr;
  unsigned int length = 0;
  const int rendered = gvRenderData(gvc.get(), graph.get(), "svg", &data, &length);
  std::string svg = rendered == 0 && data != nullptr ? std::string(data, length) : std::string();
  if (data != nullptr) gvFreeRenderData(data);
  gvFreeLayout(gvc.get(), graph.get());
  if (rendered != 0) return Status(StatusCode::internal, "graphviz could not render SVG");
  return svg;
}

}  // namespace chiprt::cli

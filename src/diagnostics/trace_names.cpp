// Names of what a trace records, as reports and trace viewers show them.
#include <string>

#include "chiprt/run.h"

namespace chiprt {

std::string dependency_kind_names(uint32_t kinds) {
  static constexpr struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {{kReadAfterWrite, "RAW"},
                {kWriteAfterRead, "WAR"},
                {kWriteAfterWrite, "WAW"},
                {kMemoryReuse, "reuse"}};
  std::string out;
  for (const auto& k : kNames) {
    if ((kinds & k.bit) == 0) continue;
    if (!out.empty()) out += '+';
    out += k.name;
  }
  return out;
}

const char* orchestration_span_name(OrchestrationSpan::Kind kind) {
  switch (kind) {
    case OrchestrationSpan::entry:
      return "orchestration";
    case OrchestrationSpan::submit:
      return "submit";
    case OrchestrationSpan::ring:
      return "wait: ring full";
    case OrchestrationSpan::heap:
      return "wait: heap full";
    case OrchestrationSpan::sync:
      return "sync";
    case OrchestrationSpan::drain:
      return "wait: tasks after the entry returned";
    case OrchestrationSpan::record:
      return "record graph (host)";
    case OrchestrationSpan::replay:
      return "replay graph";
  }
  return "?";
}

}  // namespace chiprt

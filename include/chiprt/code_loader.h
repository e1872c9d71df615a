// CodeLoader: turns shared-object bytes into callable code.
//
// Contract: load() either returns a LoadedCode whose entry() is the named symbol, or an error
// (load_failed, symbol_not_found) with nothing left behind. A LoadedCode is the sole owner of
// what it loaded; destroying it unloads. The default loader (memfd_loader()) copies the bytes
// into an anonymous memfd and dlopens /proc/self/fd/N: no named file is ever created. Loaders
// are thread-safe.
#pragma once

#include <memory>

#include "chiprt/bytes.h"
#include "chiprt/status.h"

namespace chiprt {

class LoadedCode {
 public:
  virtual ~LoadedCode() = default;
  virtual void* entry() const = 0;
  // Any other exported symbol, or nullptr.
  virtual void* symbol(const char* name) const = 0;
};

class CodeLoader {
 public:
  virtual ~CodeLoader() = default;
  virtual Result<std::unique_ptr<LoadedCode>> load(ByteSpan shared_object,
                                                   const char* entry_symbol) = 0;
};

// The process-wide memfd + dlopen loader: it loads into the calling process. chiprt uses it in
// the processes it starts, never in the host (image code never runs in the host).
std::shared_ptr<CodeLoader> memfd_loader();

// A loader of hbg orchestrations into an orchestration sandbox: a process of its own
// (chiprt-sandbox), started at the first load, that runs them for the hbg runtime. The bytes
// handed to load() must outlive the code. Every ChipWorker on hbg makes one unless
// WorkerOptions::orchestration_loader names another.
std::shared_ptr<CodeLoader> orchestration_sandbox_loader();

}  // namespace chiprt

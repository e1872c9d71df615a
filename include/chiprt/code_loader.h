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

// The process-wide memfd + dlopen loader.
std::shared_ptr<CodeLoader> memfd_loader();

}  // namespace chiprt

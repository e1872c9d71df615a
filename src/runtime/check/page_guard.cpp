#include "runtime/check/page_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

namespace chiprt::runtime {
namespace {

// What the handler reads: set up before any page is guarded, torn down after all are released.
struct GuardState {
  std::atomic<bool> active{false};
  std::atomic<std::byte*> begin{nullptr};
  std::atomic<std::byte*> end{nullptr};
  std::atomic<pid_t> thread{0};
  std::atomic<uint32_t> count{0};
  PageGuard::Fault faults[PageGuard::kMaxFaults];
};
GuardState g_state;
std::mutex g_slot;
struct sigaction g_previous;
std::once_flag g_installed;
uintptr_t g_page = 4096;

void on_segv(int signal, siginfo_t* info, void* context) {
  auto* address = static_cast<std::byte*>(info->si_addr);
  if (g_state.active.load(std::memory_order_acquire) &&
      address >= g_state.begin.load(std::memory_order_relaxed) &&
      address < g_state.end.load(std::memory_order_relaxed)) {
    void* page = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(address) & ~(g_page - 1));
    if (mprotect(page, g_page, PROT_READ | PROT_WRITE) == 0) {
      if (gettid() == g_state.thread.load(std::memory_order_relaxed)) {
        const uint32_t n = g_state.count.load(std::memory_order_relaxed);
        if (n < PageGuard::kMaxFaults) {
          const auto* uc = static_cast<const ucontext_t*>(context);
          g_state.faults[n] = {address, (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0};
          g_state.count.store(n + 1, std::memory_order_release);
        }
      }
      return;  // the access runs again, now on an accessible page
    }
  }
  // Not a guard page: whoever handled SIGSEGV before, as if this handler did not exist.
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(signal, info, context);
    return;
  }
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(signal);
    return;
  }
  // The default action: returning faults again, and now ends the process by the signal.
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigaction(SIGSEGV, &fallback, nullptr);
}

void install() {
  g_page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  struct sigaction action {};
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &g_previous);
}

std::byte* page_down(const std::byte* p) {
  return reinterpret_cast<std::byte*>(reinterpret_cast<uintptr_t>(p) & ~(g_page - 1));
}
std::byte* page_up(const std::byte* p) {
  return page_down(p + (g_page - 1));
}

}  // namespace

PageGuard::PageGuard(std::span<std::byte> memory, std::vector<Range> allowed)
    : slot_(g_slot), memory_(memory) {
  std::call_once(g_installed, install);
  std::byte* const lo = page_down(memory.data());
  std::byte* const hi = page_down(memory.data() + memory.size());  // whole pages only
  if (lo != memory.data() || hi <= lo) return;
  std::sort(allowed.begin(), allowed.end());
  g_state.begin.store(lo, std::memory_order_relaxed);
  g_state.end.store(hi, std::memory_order_relaxed);
  g_state.thread.store(gettid(), std::memory_order_relaxed);
  g_state.count.store(0, std::memory_order_relaxed);
  g_state.active.store(true, std::memory_order_release);  // before any page is guarded
  active_ = true;
  // Guard the stretches between the allowed ranges' pages.
  std::byte* from = lo;
  auto guard_until = [&](std::byte* to) {
    if (to > from && active_ && mprotect(from, static_cast<size_t>(to - from), PROT_NONE) != 0) {
      active_ = false;
    }
  };
  for (const Range& r : allowed) {
    guard_until(std::clamp(page_down(r.first), lo, hi));
    from = std::max(from, std::clamp(page_up(r.second), lo, hi));
  }
  guard_until(hi);
  if (!active_) {  // could not: nothing stays guarded
    mprotect(lo, static_cast<size_t>(hi - lo), PROT_READ | PROT_WRITE);
    g_state.active.store(false, std::memory_order_release);
  }
}

PageGuard::~PageGuard() {
  if (!active_) return;
  std::byte* const lo = g_state.begin.load(std::memory_order_relaxed);
  std::byte* const hi = g_state.end.load(std::memory_order_relaxed);
  mprotect(lo, static_cast<size_t>(hi - lo), PROT_READ | PROT_WRITE);
  g_state.active.store(false, std::memory_order_release);  // after every page is released
}

std::vector<PageGuard::Fault> PageGuard::faults() const {
  const uint32_t n = g_state.count.load(std::memory_order_acquire);
  return std::vector<Fault>(g_state.faults, g_state.faults + n);
}

}  // namespace chiprt::runtime

// x86_64 implementation of arch/signal_context.h.
#include "arch/signal_context.h"

#include <ucontext.h>

namespace hotpatch::arch {

namespace {
constexpr uint8_t kInt3 = 0xCC;  // int3
}

uint8_t breakpoint_byte() { return kInt3; }
// int3 is a trap: the reported rip is the byte after it.
uintptr_t pc_after_breakpoint(uintptr_t site) { return site + 1; }

uintptr_t signal_context_pc(const void* ucontext) {
  return static_cast<uintptr_t>(static_cast<const ucontext_t*>(ucontext)->uc_mcontext.gregs[REG_RIP]);
}

void set_signal_context_pc(void* ucontext, uintptr_t pc) {
  static_cast<ucontext_t*>(ucontext)->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(pc);
}

}  // namespace hotpatch::arch

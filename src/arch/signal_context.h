// The architecture facts in-process code modification needs (the Core Runtime's
// cooperative `func upgrade`): the one-byte breakpoint written over an entry while
// the rest of a jump goes in, and the program counter inside a signal handler's
// ucontext. Kept apart from arch.h so the runtime builds without ptrace types.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hotpatch::arch {

// A one-byte instruction that traps (SIGTRAP) when executed.
uint8_t breakpoint_byte();
// Where the program counter is after the breakpoint at `site` trapped.
uintptr_t pc_after_breakpoint(uintptr_t site);

// The interrupted program counter in a signal handler's third argument.
uintptr_t signal_context_pc(const void* ucontext);
void set_signal_context_pc(void* ucontext, uintptr_t pc);

}  // namespace hotpatch::arch

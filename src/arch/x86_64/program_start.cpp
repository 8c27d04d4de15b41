// x86_64: telling whether a freshly exec'd program has reached its entry point.
#include "arch/arch.h"

namespace hotpatch::arch {

std::vector<uint8_t> self_loop_instruction() { return {0xEB, 0xFE}; }  // jmp .-0 (jmp rel8 -2)

bool program_started(const Registers& regs, RemoteAddr initial_sp, RemoteAddr entry, std::span<const uint64_t, 3> below,
                     const std::function<bool(RemoteAddr)>& in_program) {
  // At the entry point itself nothing of the program has run.
  if (regs.pc() == entry) return false;
  // With a dynamic loader, the program's own code runs only after the entry point.
  if (in_program(regs.pc())) return true;
  // glibc's _start (sysdeps/x86_64/start.S) pops argc (sp = initial + 8), aligns
  // the stack down to 16 (= initial, which the kernel aligns), pushes rax and then
  // rsp (whose value is initial - 8), and calls __libc_start_main, which never
  // returns: its return address into _start stays at initial - 24 for the life of
  // the process. Before that, ld.so's frames hold other values there: the return
  // address of its own `call _dl_start` at initial - 8, zeros or ld.so's saved
  // registers below (measured on Debian 12: 0 at initial - 16 until the jump).
  const uint64_t sp0 = initial_sp.value();
  return below[1] == sp0 - 8 && in_program(RemoteAddr(below[0]));
}

}  // namespace hotpatch::arch

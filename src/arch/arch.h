// The architecture interface. Everything that knows an opcode, a register name or a
// calling convention is behind this header; the rest of hotpatch speaks of "the
// program counter", "a jump from A to B" and "call F with these arguments".
// One implementation per CPU in src/arch/<cpu>/ (x86_64 today).
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <optional>
#include <span>
#include <vector>

#include "common/remote_ptr.h"

namespace hotpatch::arch {

// General-purpose registers of one stopped thread, as ptrace exchanges them.
class Registers {
 public:
  Registers() = default;
  explicit Registers(const user_regs_struct& raw) : raw_(raw) {}

  RemoteAddr pc() const;
  void set_pc(RemoteAddr pc);
  RemoteAddr sp() const;
  void set_sp(RemoteAddr sp);
  // Where this thread's call frames end at most, given the end of the mapping its
  // stack pointer is in: below the thread's control block when the C library keeps
  // it at the top of that mapping (glibc and musl do, for every thread they create),
  // else the mapping's end. Lets the busy-code scan skip memory that holds no frame.
  RemoteAddr stack_frames_end(RemoteAddr mapping_end) const;

  // The syscall the thread was stopped in, or -1 when it was not in one.
  int64_t syscall_number() const;
  // What the kernel left as the syscall's result (e.g. -EINTR, -ERESTARTSYS).
  int64_t syscall_result() const;
  // Makes the kernel's restart logic ignore this register set (for injected calls).
  void clear_syscall_number();

  uint64_t return_value() const;

  const user_regs_struct& raw() const { return raw_; }
  user_regs_struct& raw() { return raw_; }

 private:
  user_regs_struct raw_{};
};

// The ABI facts the remote-call code needs.
constexpr size_t kRedZoneSize = 128;
constexpr size_t kStackAlignment = 16;
constexpr size_t kSyscallInstructionSize = 2;

// Sets up `regs` to call `function(args...)` (at most 6 integer arguments) with the
// stack pointer at `stack_top` (already below the red zone). Returns the bytes that
// must be written at the returned stack pointer (the return address) before resuming.
struct CallFrame {
  RemoteAddr stack_pointer;
  std::vector<uint8_t> stack_bytes;  // written at stack_pointer
};
CallFrame prepare_call(Registers& regs, RemoteAddr function, std::span<const uint64_t> args,
                       RemoteAddr stack_top, RemoteAddr return_address);

// A thread stopped at the end of an interrupted syscall whose result is -EINTR is
// set back to re-execute the syscall instruction with its original number.
void rewind_to_restart_syscall(Registers& regs);

// Syscalls that fail with EINTR when interrupted (the kernel never restarts them,
// signal(7)) and whose second run the program cannot tell from one uninterrupted
// run: nothing of the first was done (epoll_wait, sigtimedwait, semop, a socket
// receive with SO_RCVTIMEO...), only the timeout starts again. Not ioctl, read or
// write (a driver's EINTR may follow work done), connect (it goes on in the
// background), io_uring_enter (its submissions were made), nor anything unknown.
bool restart_is_invisible(int64_t syscall_number);

// A thread stopped by our interrupt in a syscall that failed with -EINTR because of
// it: if that syscall's restart is invisible, its result becomes the kernel's own
// -ERESTARTNOHAND, which the kernel resolves when the thread resumes: re-run when no
// handler runs first, -EINTR when a signal handler runs (as a signal arriving during
// the call would have made it). So a signal that comes while we hold the thread is
// seen by the program as it expects, and the decision needs no tracer: it holds if
// we are killed before we release the thread. Returns whether `regs` changed.
bool restart_unless_signalled(Registers& regs);

// Remote calls that survive the death of the tracer -------------------------------
//
// A remote call returns through a signal frame built on the thread's stack, as if
// the called function were a signal handler: its return address is code ending in
// rt_sigreturn, and the frame holds the thread's own registers, extended state and
// signal mask. If the CLI is SIGKILLed at any moment, the kernel detaches the
// thread, the call runs to its end, and rt_sigreturn puts the thread back exactly
// where it was. With the CLI alive, the call is followed with PTRACE_SYSCALL and is
// over at the rt_sigreturn syscall-entry stop (docs/design.md).

// The registers `regs` (stopped inside a syscall) resume with once nothing else will
// fix them up: an -ERESTART* result becomes the syscall re-run (what the kernel does
// on a resume without a signal), and the syscall number is cleared. A frame holding
// these registers needs no restart logic.
void settle_interrupted_syscall(Registers& regs);

// The rt_sigreturn system call number.
int64_t sigreturn_syscall();

// libc's signal restorer (glibc's __restore_rt): `mov $SYS_rt_sigreturn, %rax; syscall`.
std::span<const uint8_t> signal_restorer_code();
// Offset of the end of its syscall instruction: the pc of the rt_sigreturn stop.
size_t signal_restorer_syscall_end();

// The return pad: code in a page of ours that stores the return value register in
// the frame's first word (the spent return address) and then does rt_sigreturn.
// With `notice_signal` (not 0) it first sends that signal to its own thread
// (tgkill(getpid(), gettid(), notice_signal)): a traced thread stops there, so the
// loader can run the call with PTRACE_CONT instead of stopping at every syscall of
// it; an untraced one (the CLI died) has the signal ignored, which is why only a
// signal the program neither catches nor blocks may be used.
std::vector<uint8_t> return_pad_code(int notice_signal = 0);
// Offset of the end of the rt_sigreturn syscall instruction in the pad.
size_t return_pad_syscall_end(int notice_signal = 0);
// Offset of the end of the tgkill syscall instruction: the pc of the notice stop.
size_t return_pad_notice_end();

struct SignalFrame {
  RemoteAddr start;                // lowest address of the frame
  std::vector<uint8_t> bytes;      // written at `start`; the first word is the return address
  RemoteAddr call_stack_top;       // for prepare_call: the return address lands at `start`
  RemoteAddr sigreturn_sp;         // stack pointer at the rt_sigreturn syscall
  RemoteAddr result_slot;          // where the return pad leaves the result
};
// A frame below `below` that rt_sigreturn turns back into `context`, the extended
// state `extended_state` (as PTRACE_GETREGSET gave it, NT_X86_XSTATE or
// NT_PRFPREG) and the blocked-signal mask `blocked_signals`.
SignalFrame build_signal_frame(const Registers& context, std::span<const uint8_t> extended_state,
                               uint64_t blocked_signals, RemoteAddr below, RemoteAddr return_address);

// What a signal handler's frame saved of the code it interrupted, read from the
// frame's bytes from its first word (the handler's return address: the signal
// restorer) on; kSignalFrameContextSize bytes are enough. nullopt when the bytes
// are not such a frame (its ucontext's flags and link are not what the kernel
// writes): a stale copy of the restorer's address on a stack.
struct InterruptedContext {
  RemoteAddr pc;
  RemoteAddr sp;
};
constexpr size_t kSignalFrameContextSize = 184;
std::optional<InterruptedContext> interrupted_context(std::span<const uint8_t> frame);

// Function entries ------------------------------------------------------------

// Bytes at a function's entry that a redirect must leave alone (endbr64 under CET
// so indirect calls stay valid); 0 if none.
size_t entry_prologue_to_keep(std::span<const uint8_t> entry);

// Size of the jump written at a function entry when the destination is in reach
// of a relative jump, and the size of a jump that reaches anywhere.
constexpr size_t kNearJumpSize = 5;
constexpr size_t kFarJumpSize = 14;

bool near_jump_reaches(RemoteAddr from, RemoteAddr to);
// `jmp rel32` placed at `from`; nullopt when `to` is out of reach.
std::optional<std::vector<uint8_t>> encode_near_jump(RemoteAddr from, RemoteAddr to);
// `jmp [rip+0]` followed by the absolute destination: position independent.
std::vector<uint8_t> encode_far_jump(RemoteAddr to);

// If `code` (read at `at`) begins with a jump this module encodes, its destination.
std::optional<RemoteAddr> decode_jump(RemoteAddr at, std::span<const uint8_t> code);

// How far a near jump reaches, to place stubs within reach of their function.
constexpr int64_t kNearJumpReach = (int64_t{1} << 31) - 1;

// Register preservation ---------------------------------------------------------
//
// Compilers let a caller keep values in call-clobbered registers across a call when
// they can see that the callee leaves those registers alone (GCC's -fipa-ra, on at
// -O2 for calls within one file). A replacement compiled elsewhere may clobber
// them. We compute what the old function may clobber and what the new one may, and
// when the new one may clobber more, route the call through a stub that saves and
// restores the difference.

// A set of call-clobbered registers: general-purpose registers by hardware number
// (bit 0 = rax ... bit 11 = r11) and vector registers xmm0..xmm15.
struct RegisterSet {
  uint32_t general = 0;
  uint32_t vector = 0;

  static RegisterSet all_call_clobbered();
  bool empty() const { return general == 0 && vector == 0; }
  RegisterSet operator|(const RegisterSet& o) const { return {general | o.general, vector | o.vector}; }
  RegisterSet operator&(const RegisterSet& o) const { return {general & o.general, vector & o.vector}; }
  RegisterSet without(const RegisterSet& o) const { return {general & ~o.general, vector & ~o.vector}; }
  bool operator==(const RegisterSet&) const = default;
  std::string names() const;  // "rdx, rsi, xmm3"
  uint64_t to_mask() const { return general | (uint64_t{vector} << 32); }
  static RegisterSet from_mask(uint64_t m) { return {static_cast<uint32_t>(m), static_cast<uint32_t>(m >> 32)}; }
};

// Where code of one object can be read, by link-time address.
struct CodeSource {
  // Bytes at [addr, addr+len); false if not available.
  std::function<bool(uint64_t addr, size_t len, std::vector<uint8_t>& out)> read;
  // Size of the function starting exactly at `addr`, if one does.
  std::function<std::optional<uint64_t>(uint64_t addr)> function_size_at;
};

// The call-clobbered registers the function [entry, entry+size) may change,
// following direct calls and tail jumps into functions of the same object. A call
// or jump whose destination is unknown (PLT, indirect), code that cannot be read or
// decoded, or too much code make it return all_call_clobbered(): the conservative
// answer, under which no caller can have relied on anything.
RegisterSet clobbered_registers(uint64_t entry, uint64_t size, const CodeSource& code);

// Offset just past the instruction that contains byte `offset` of `code` (decoded
// from the start, which must be an instruction boundary), or nullopt if `offset`
// is not inside a decodable instruction. PC-relative operands are relative to it.
std::optional<uint64_t> instruction_end(std::span<const uint8_t> code, uint64_t offset);

// Direct jumps and calls of `code` (one function, decoded from its start) whose
// destination lies outside the code itself: the offset of each one's displacement
// field, which a relocation must cover for the code to be movable. nullopt if the
// code does not decode.
std::optional<std::vector<uint64_t>> branches_leaving(std::span<const uint8_t> code);

// If the 32-bit displacement at `disp_offset` belongs to `lea sym(%rip), %reg`
// (64-bit), turns it into `mov slot(%rip), %reg` in place and returns true: the
// same register then receives the address from an 8-byte slot that holds it. This
// is ld's GOT relaxation in reverse, for code that assumed a symbol within 32-bit
// reach (a library's variable, in a PIE) when the patch can only reach a pointer.
bool rip_lea_to_slot_load(std::span<uint8_t> code, uint64_t disp_offset);

// If two pieces of code are the same instruction for instruction except for
// immediate operand values, the (before, after) pairs of the immediates that
// differ; nullopt if anything else differs (or the code does not decode). A
// branch or call whose destination differs is a difference of control flow, not
// of an immediate: nullopt.
std::optional<std::vector<std::pair<int64_t, int64_t>>> immediate_differences(std::span<const uint8_t> before,
                                                                              std::span<const uint8_t> after);

// A position-independent stub that saves `preserve`, calls `replacement` with the
// caller's arguments (registers untouched, the first kCopiedStackArgumentBytes of
// stack arguments copied), restores `preserve` and returns.
constexpr size_t kCopiedStackArgumentBytes = 128;

// The stub's frame, for the unwinder: from code offset `from` on, the caller's stack
// pointer before its call (the CFA) is rsp + cfa_offset; the return address is just
// below the CFA. The stub saves only call-clobbered registers, which an unwinder
// never restores, so the CFA is all it needs to step through the stub.
struct StubFrameStep {
  uint32_t from = 0;
  uint32_t cfa_offset = 0;
};
struct StubUnwind {
  RemoteAddr start;        // where the stub is placed
  uint32_t code_size = 0;  // its instructions, up to and including ret
  std::vector<StubFrameStep> steps;
};
// `unwind`, if given, receives the stub's frame steps and code size (start is left
// to the caller, which places the stub).
std::vector<uint8_t> encode_preserving_stub(RemoteAddr replacement, const RegisterSet& preserve,
                                            StubUnwind* unwind = nullptr);
// An .eh_frame table for __register_frame: one CIE, one FDE per stub with absolute
// addresses (so the table may live anywhere), and the zero terminator.
std::vector<uint8_t> encode_stub_unwind_table(const std::vector<StubUnwind>& stubs);

// Programs that have just started (the agent, docs/agent.md) -----------------------

// A jump to itself: a thread that reaches it spins there, running nothing else,
// until the original bytes are put back.
std::vector<uint8_t> self_loop_instruction();

// Whether a process that ran execve() has gone past its program's entry point,
// judged from its main thread stopped with registers `regs`: `initial_sp` is the
// stack pointer the kernel started it with (startstack in /proc/PID/stat), `entry`
// the program's entry point (AT_ENTRY), `below`
// the three words just under it ([sp-24], [sp-16], [sp-8]), `in_program` tells
// whether an address is in the program's own code. False means the dynamic loader
// is still at work (nothing of the program ran yet), or the thread is at the entry
// point itself; a start code this does not know reads as not started, which costs
// a wait for an entry that was passed already (bounded by the caller), never a
// wrong "started".
bool program_started(const Registers& regs, RemoteAddr initial_sp, RemoteAddr entry, std::span<const uint64_t, 3> below,
                     const std::function<bool(RemoteAddr)>& in_program);

}  // namespace hotpatch::arch

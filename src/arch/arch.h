// The architecture interface. Everything that knows an opcode, a register name or a
// calling convention is behind this header; the rest of hotpatch speaks of "the
// program counter", "a jump from A to B" and "call F with these arguments".
// One implementation per CPU in src/arch/<cpu>/ (x86_64 today).
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>
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

}  // namespace hotpatch::arch

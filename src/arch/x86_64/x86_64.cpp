// x86_64 implementation of src/arch/arch.h. Opcodes are spelled out with their
// mnemonics; tests/unit/arch_x86_64_test.cpp checks bytes out against bytes expected.
#include <cerrno>
#include <cstring>

#include "arch/arch.h"

namespace hotpatch::arch {

namespace {
constexpr uint8_t kJmpRel32 = 0xE9;                                     // jmp rel32
constexpr std::array<uint8_t, 6> kJmpRipIndirect = {0xFF, 0x25, 0, 0, 0, 0};  // jmp [rip+0]
constexpr std::array<uint8_t, 4> kEndbr64 = {0xF3, 0x0F, 0x1E, 0xFA};  // endbr64
}  // namespace

RemoteAddr Registers::pc() const { return RemoteAddr(raw_.rip); }
void Registers::set_pc(RemoteAddr pc) { raw_.rip = pc.value(); }
RemoteAddr Registers::sp() const { return RemoteAddr(raw_.rsp); }

RemoteAddr Registers::stack_frames_end(RemoteAddr mapping_end) const {
  // x86_64 keeps the thread pointer (fs_base) at the control block, which glibc
  // places at the very top of a thread's stack mapping, with the static TLS just
  // below it and the first frame below that. Trusted only when the block is right at
  // the top (a control block is a few KiB): a runtime that keeps its TLS in the
  // middle of a stack mapping gets the whole mapping scanned.
  constexpr uint64_t kMaxControlBlock = 16 * 1024;
  const uint64_t tp = raw_.fs_base, sp = raw_.rsp, end = mapping_end.value();
  if (tp > sp && tp < end && end - tp <= kMaxControlBlock) return RemoteAddr(tp & ~uint64_t{7});
  return mapping_end;
}
void Registers::set_sp(RemoteAddr sp) { raw_.rsp = sp.value(); }
int64_t Registers::syscall_number() const { return static_cast<int64_t>(raw_.orig_rax); }
int64_t Registers::syscall_result() const { return static_cast<int64_t>(raw_.rax); }
void Registers::clear_syscall_number() { raw_.orig_rax = static_cast<uint64_t>(-1); }
uint64_t Registers::return_value() const { return raw_.rax; }

CallFrame prepare_call(Registers& regs, RemoteAddr function, std::span<const uint64_t> args,
                       RemoteAddr stack_top, RemoteAddr return_address) {
  // System V: rdi, rsi, rdx, rcx, r8, r9; rax = 0 vector registers used (varargs).
  unsigned long long* slots[] = {&regs.raw().rdi, &regs.raw().rsi, &regs.raw().rdx,
                                 &regs.raw().rcx, &regs.raw().r8, &regs.raw().r9};
  for (size_t i = 0; i < args.size() && i < 6; ++i) *slots[i] = args[i];
  regs.raw().rax = 0;
  regs.clear_syscall_number();
  // At a function's first instruction (rsp + 8) must be 16-byte aligned: align,
  // then push the return address.
  uint64_t sp = stack_top.value() & ~uint64_t{kStackAlignment - 1};
  sp -= 8;
  regs.set_sp(RemoteAddr(sp));
  regs.set_pc(function);
  CallFrame frame;
  frame.stack_pointer = RemoteAddr(sp);
  uint64_t ret = return_address.value();
  frame.stack_bytes.resize(8);
  std::memcpy(frame.stack_bytes.data(), &ret, 8);
  return frame;
}

void rewind_to_restart_syscall(Registers& regs) {
  regs.raw().rax = regs.raw().orig_rax;
  regs.raw().rip -= kSyscallInstructionSize;
}

size_t entry_prologue_to_keep(std::span<const uint8_t> entry) {
  if (entry.size() >= kEndbr64.size() && std::memcmp(entry.data(), kEndbr64.data(), kEndbr64.size()) == 0) {
    return kEndbr64.size();
  }
  return 0;
}

bool near_jump_reaches(RemoteAddr from, RemoteAddr to) {
  int64_t delta = static_cast<int64_t>(to.value() - (from.value() + kNearJumpSize));
  return delta >= INT32_MIN && delta <= INT32_MAX;
}

std::optional<std::vector<uint8_t>> encode_near_jump(RemoteAddr from, RemoteAddr to) {
  if (!near_jump_reaches(from, to)) return std::nullopt;
  int32_t rel = static_cast<int32_t>(to.value() - (from.value() + kNearJumpSize));
  std::vector<uint8_t> out(kNearJumpSize);
  out[0] = kJmpRel32;
  std::memcpy(&out[1], &rel, 4);
  return out;
}

std::vector<uint8_t> encode_far_jump(RemoteAddr to) {
  std::vector<uint8_t> out(kJmpRipIndirect.begin(), kJmpRipIndirect.end());
  uint64_t dest = to.value();
  out.resize(kFarJumpSize);
  std::memcpy(&out[kJmpRipIndirect.size()], &dest, 8);
  return out;
}

std::optional<RemoteAddr> decode_jump(RemoteAddr at, std::span<const uint8_t> code) {
  if (code.size() >= kNearJumpSize && code[0] == kJmpRel32) {
    int32_t rel;
    std::memcpy(&rel, &code[1], 4);
    return RemoteAddr(at.value() + kNearJumpSize + static_cast<int64_t>(rel));
  }
  if (code.size() >= kFarJumpSize && std::memcmp(code.data(), kJmpRipIndirect.data(), kJmpRipIndirect.size()) == 0) {
    uint64_t dest;
    std::memcpy(&dest, &code[kJmpRipIndirect.size()], 8);
    return RemoteAddr(dest);
  }
  return std::nullopt;
}

bool rip_lea_to_slot_load(std::span<uint8_t> code, uint64_t disp_offset) {
  // REX.W (0x48..0x4f), opcode 0x8d (lea), ModRM mod=00 rm=101 (RIP-relative), disp32.
  if (disp_offset < 3 || disp_offset + 4 > code.size()) return false;
  uint8_t rex = code[disp_offset - 3], opcode = code[disp_offset - 2], modrm = code[disp_offset - 1];
  if ((rex & 0xf8) != 0x48 || opcode != 0x8d || (modrm & 0xc7) != 0x05) return false;
  code[disp_offset - 2] = 0x8b;  // mov r64, r/m64: same operands, loads instead of computing
  return true;
}

}  // namespace hotpatch::arch

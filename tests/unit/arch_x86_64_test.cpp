// Bytes out against bytes expected, with the disassembly beside them.
#include <signal.h>

#include <gtest/gtest.h>

#include <sys/ucontext.h>

#include <array>
#include <cstring>

#include "arch/arch.h"
#include "arch/instructions.h"

using hotpatch::RemoteAddr;
namespace arch = hotpatch::arch;

TEST(ArchX86_64, NearJumpForward) {
  // 0x1000: jmp 0x2000  ->  e9 fb 0f 00 00  (rel32 = 0x2000 - (0x1000 + 5))
  auto bytes = arch::encode_near_jump(RemoteAddr(0x1000), RemoteAddr(0x2000));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0xe9, 0xfb, 0x0f, 0x00, 0x00}));
}

TEST(ArchX86_64, NearJumpBackward) {
  // 0x2000: jmp 0x1000  ->  e9 fb ef ff ff  (rel32 = -0x1005)
  auto bytes = arch::encode_near_jump(RemoteAddr(0x2000), RemoteAddr(0x1000));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0xe9, 0xfb, 0xef, 0xff, 0xff}));
}

TEST(ArchX86_64, NearJumpReachLimits) {
  RemoteAddr from(0x7f0000000000);
  // The farthest forward target: from + 5 + INT32_MAX.
  EXPECT_TRUE(arch::near_jump_reaches(from, from + 5 + INT32_MAX));
  EXPECT_FALSE(arch::near_jump_reaches(from, from + 5 + INT32_MAX + 1));
  EXPECT_TRUE(arch::near_jump_reaches(from, from + 5 - (int64_t{1} << 31)));
  EXPECT_FALSE(arch::near_jump_reaches(from, from + 4 - (int64_t{1} << 31)));
  EXPECT_FALSE(arch::encode_near_jump(RemoteAddr(0x555555554000), RemoteAddr(0x7ffff7fc0000)));
}

TEST(ArchX86_64, FarJumpIsRipIndirect) {
  // jmp qword ptr [rip+0] ; .quad 0x7ffff7fc1234
  auto bytes = arch::encode_far_jump(RemoteAddr(0x7ffff7fc1234));
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0xff, 0x25, 0, 0, 0, 0, 0x34, 0x12, 0xfc, 0xf7, 0xff, 0x7f, 0, 0}));
  EXPECT_EQ(bytes.size(), arch::kFarJumpSize);
}

TEST(ArchX86_64, DecodeRoundTrips) {
  RemoteAddr at(0x401000), to(0x402345);
  auto near = *arch::encode_near_jump(at, to);
  EXPECT_EQ(arch::decode_jump(at, near), to);
  auto far = arch::encode_far_jump(RemoteAddr(0x7f0011223344));
  EXPECT_EQ(arch::decode_jump(at, far), RemoteAddr(0x7f0011223344));
  std::vector<uint8_t> push_rbp = {0x55, 0x48, 0x89, 0xe5, 0x90};  // push rbp; mov rbp,rsp; nop
  EXPECT_FALSE(arch::decode_jump(at, push_rbp));
}

TEST(ArchX86_64, Endbr64IsKept) {
  std::vector<uint8_t> cet = {0xf3, 0x0f, 0x1e, 0xfa, 0x55};  // endbr64; push rbp
  std::vector<uint8_t> plain = {0x55, 0x48, 0x89, 0xe5};      // push rbp; mov rbp,rsp
  std::vector<uint8_t> short_entry = {0xf3, 0x0f};
  EXPECT_EQ(arch::entry_prologue_to_keep(cet), 4u);
  EXPECT_EQ(arch::entry_prologue_to_keep(plain), 0u);
  EXPECT_EQ(arch::entry_prologue_to_keep(short_entry), 0u);
}

TEST(ArchX86_64, PrepareCallAlignsAndPassesArguments) {
  arch::Registers regs;
  regs.raw().orig_rax = 232;  // stopped in epoll_wait
  uint64_t args[] = {1, 2, 3, 4, 5, 6};
  auto frame = arch::prepare_call(regs, RemoteAddr(0x7f0000001000), args, RemoteAddr(0x7ffc0000100f), RemoteAddr(0x4854));
  // At the callee's first instruction rsp + 8 is 16-byte aligned.
  EXPECT_EQ((regs.sp().value() + 8) % 16, 0u);
  EXPECT_LT(regs.sp().value(), 0x7ffc0000100fu);
  EXPECT_EQ(frame.stack_pointer, regs.sp());
  EXPECT_EQ(frame.stack_bytes, (std::vector<uint8_t>{0x54, 0x48, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(regs.pc(), RemoteAddr(0x7f0000001000));
  EXPECT_EQ(regs.raw().rdi, 1u);
  EXPECT_EQ(regs.raw().rsi, 2u);
  EXPECT_EQ(regs.raw().rdx, 3u);
  EXPECT_EQ(regs.raw().rcx, 4u);
  EXPECT_EQ(regs.raw().r8, 5u);
  EXPECT_EQ(regs.raw().r9, 6u);
  EXPECT_EQ(regs.syscall_number(), -1);  // the kernel must not "restart" into our call
}

TEST(ArchX86_64, RewindRestartsTheSyscall) {
  arch::Registers regs;
  regs.raw().orig_rax = 232;
  regs.raw().rax = static_cast<uint64_t>(-4);  // -EINTR
  regs.raw().rip = 0x7f0000002002;
  arch::rewind_to_restart_syscall(regs);
  EXPECT_EQ(regs.raw().rax, 232u);
  EXPECT_EQ(regs.pc(), RemoteAddr(0x7f0000002000));
}

// --- remote calls that survive the tracer (signal frames) ---------------------------

namespace {
// A thread stopped at the end of syscall `nr`, which left `result`.
arch::Registers stopped_in(int64_t nr, int64_t result) {
  arch::Registers regs;
  regs.raw().orig_rax = static_cast<uint64_t>(nr);
  regs.raw().rax = static_cast<uint64_t>(result);
  regs.raw().rip = 0x7f0000002002;
  return regs;
}
}  // namespace

TEST(ArchX86_64, SettleRestartsWhatTheKernelWouldRestart) {
  // read() interrupted: -ERESTARTSYS -> the syscall again, same number.
  auto r = stopped_in(0, -512);
  arch::settle_interrupted_syscall(r);
  EXPECT_EQ(r.raw().rax, 0u);
  EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002000));
  EXPECT_EQ(r.syscall_number(), -1);
  // clock_nanosleep: -ERESTART_RESTARTBLOCK -> restart_syscall (219).
  r = stopped_in(230, -516);
  arch::settle_interrupted_syscall(r);
  EXPECT_EQ(r.raw().rax, 219u);
  EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002000));
  // epoll_wait's -EINTR stays (the stop turned one it caused into -ERESTARTNOHAND,
  // which is re-run like -ERESTARTSYS).
  r = stopped_in(232, -4);
  arch::settle_interrupted_syscall(r);
  EXPECT_EQ(r.raw().rax, static_cast<uint64_t>(-4));
  EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002002));
  r = stopped_in(232, -514);
  arch::settle_interrupted_syscall(r);
  EXPECT_EQ(r.raw().rax, 232u);
  EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002000));
  // A finished syscall keeps its result; code outside any syscall is untouched.
  r = stopped_in(1, 5);
  arch::settle_interrupted_syscall(r);
  EXPECT_EQ(r.raw().rax, 5u);
  EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002002));
  EXPECT_EQ(r.syscall_number(), -1);
}

TEST(ArchX86_64, OnlyInvisibleRestartsBecomeTheKernelsDecision) {
  // epoll_pwait (281), rt_sigtimedwait (128), semop (65) interrupted by us: the
  // kernel re-runs them on resume unless a handler runs (-ERESTARTNOHAND = -514);
  // the pc and the syscall number stay, so a handler's frame shows the call.
  for (int64_t nr : {281, 128, 65, 232, 45}) {
    auto r = stopped_in(nr, -4);
    EXPECT_TRUE(arch::restart_unless_signalled(r)) << nr;
    EXPECT_EQ(r.raw().rax, static_cast<uint64_t>(-514)) << nr;
    EXPECT_EQ(r.pc(), RemoteAddr(0x7f0000002002)) << nr;
    EXPECT_EQ(r.syscall_number(), nr);
  }
  // ioctl (16), read (0), connect (42), io_uring_enter (426) and unknown numbers keep
  // their EINTR; so does anything that did not fail with EINTR.
  for (int64_t nr : {16, 0, 42, 426, 9999}) {
    auto r = stopped_in(nr, -4);
    EXPECT_FALSE(arch::restart_unless_signalled(r)) << nr;
    EXPECT_EQ(r.raw().rax, static_cast<uint64_t>(-4)) << nr;
  }
  auto done = stopped_in(281, 1);
  EXPECT_FALSE(arch::restart_unless_signalled(done));
  auto not_in_syscall = stopped_in(-1, -4);
  EXPECT_FALSE(arch::restart_unless_signalled(not_in_syscall));
}

TEST(ArchX86_64, InterruptedContextReadsBackWhatTheFrameSaved) {
  arch::Registers ctx;
  ctx.raw().rip = 0x7f0000001234;
  ctx.raw().rsp = 0x7ffc00001008;
  std::vector<uint8_t> xstate(832, 0);
  auto frame = arch::build_signal_frame(ctx, xstate, 0, RemoteAddr(0x7ffc00000f00), RemoteAddr(0x7f00000000aa));
  auto saved = arch::interrupted_context(frame.bytes);
  ASSERT_TRUE(saved.has_value());
  EXPECT_EQ(saved->pc, RemoteAddr(0x7f0000001234));
  EXPECT_EQ(saved->sp, RemoteAddr(0x7ffc00001008));
  // Too short, or flags and link no kernel writes: not a frame.
  EXPECT_FALSE(arch::interrupted_context(std::span<const uint8_t>(frame.bytes).first(100)).has_value());
  auto bad = frame.bytes;
  bad[8 + 8] = 1;  // uc_link
  EXPECT_FALSE(arch::interrupted_context(bad).has_value());
  bad = frame.bytes;
  bad[8 + 1] = 0x10;  // uc_flags
  EXPECT_FALSE(arch::interrupted_context(bad).has_value());
}

TEST(ArchX86_64, SignalFrameLayout) {
  arch::Registers ctx;
  ctx.raw().rip = 0x7f0000001234;
  ctx.raw().rsp = 0x7ffc00001008;
  ctx.raw().rax = 0x1111;
  ctx.raw().rbx = 0x2222;
  ctx.raw().r15 = 0x3333;
  ctx.raw().eflags = 0x246;
  ctx.raw().cs = 0x33;
  ctx.raw().ss = 0x2b;
  // An XSAVE image as ptrace gives it: legacy area, XCR0 at byte 464, header at 512.
  std::vector<uint8_t> xstate(2432, 0);
  xstate[24] = 0x80;  // MXCSR 0x1f80
  xstate[25] = 0x1f;
  const uint64_t xcr0 = 0xe7;
  std::memcpy(&xstate[464], &xcr0, 8);
  const RemoteAddr below(0x7ffc00000f00);
  const RemoteAddr pad(0x7f0000400000);
  auto frame = arch::build_signal_frame(ctx, xstate, 0x4001, below, pad);

  auto u64 = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, &frame.bytes[at], 8);
    return v;
  };
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, &frame.bytes[at], 4);
    return v;
  };
  // Nothing at or above `below`; the return address (the pad) first; entry rsp 8 mod 16.
  EXPECT_LE(frame.start.value() + frame.bytes.size(), below.value());
  EXPECT_EQ(frame.start.value() % 16, 8u);
  EXPECT_EQ(u64(0), pad.value());
  EXPECT_EQ(frame.call_stack_top, frame.start + 8);
  EXPECT_EQ(frame.sigreturn_sp, frame.start + 8);  // rt_sigreturn reads the frame at sp - 8
  EXPECT_EQ(frame.result_slot, frame.start);
  // The ucontext as the kernel reads it (struct rt_sigframe: pretcode, then uc).
  const ucontext_t* uc = reinterpret_cast<const ucontext_t*>(&frame.bytes[8]);
  EXPECT_EQ(uc->uc_flags, 0x7u);  // FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RIP]), 0x7f0000001234u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RSP]), 0x7ffc00001008u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RAX]), 0x1111u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_RBX]), 0x2222u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_R15]), 0x3333u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_EFL]), 0x246u);
  EXPECT_EQ(static_cast<uint64_t>(uc->uc_mcontext.gregs[REG_CSGSFS]), 0x002b000000000033u);
  EXPECT_EQ(u64(8 + 296), 0x4001u);  // the kernel's 64-bit uc_sigmask
  // The XSAVE image: 64-byte aligned, marked for rt_sigreturn, MAGIC2 after it.
  uint64_t fp = reinterpret_cast<uint64_t>(uc->uc_mcontext.fpregs);
  EXPECT_EQ(fp % 64, 0u);
  size_t at = fp - frame.start.value();
  EXPECT_EQ(u32(at + 24), 0x1f80u);
  EXPECT_EQ(u32(at + 464), 0x46505853u);      // FP_XSTATE_MAGIC1
  EXPECT_EQ(u32(at + 468), 2432u + 4);        // extended_size
  EXPECT_EQ(u64(at + 472), 0xe7u);            // xfeatures
  EXPECT_EQ(u32(at + 480), 2432u);            // xstate_size
  EXPECT_EQ(u32(at + 2432), 0x46505845u);     // FP_XSTATE_MAGIC2
  EXPECT_LE(fp + 2432 + 4, below.value());
}

TEST(ArchX86_64, ReturnPadStoresTheResultThenSigreturns) {
  auto pad = arch::return_pad_code();
  // mov %rax,-8(%rsp); mov $15,%eax; syscall; ud2
  EXPECT_EQ(pad, (std::vector<uint8_t>{0x48, 0x89, 0x44, 0x24, 0xf8, 0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b}));
  EXPECT_EQ(arch::return_pad_syscall_end(), 12u);
  auto restorer = arch::signal_restorer_code();
  EXPECT_EQ(std::vector<uint8_t>(restorer.begin(), restorer.end()),
            (std::vector<uint8_t>{0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05}));
  EXPECT_EQ(arch::signal_restorer_syscall_end(), 9u);
  EXPECT_EQ(arch::sigreturn_syscall(), 15);
}

TEST(ArchX86_64, NoticePadSignalsItsOwnThreadBeforeSigreturn) {
  auto pad = arch::return_pad_code(SIGURG);
  const size_t notice = arch::return_pad_notice_end(), sigreturn = arch::return_pad_syscall_end(SIGURG);
  ASSERT_EQ(pad.size(), sigreturn + 2);
  // The result is stored first, as in the plain pad.
  EXPECT_EQ(std::vector<uint8_t>(pad.begin(), pad.begin() + 5), (std::vector<uint8_t>{0x48, 0x89, 0x44, 0x24, 0xf8}));
  // getpid -> edi, gettid -> esi, SIGURG -> edx, then tgkill: the notice stop's pc.
  EXPECT_EQ(std::vector<uint8_t>(pad.begin() + 5, pad.begin() + 10), (std::vector<uint8_t>{0xb8, 39, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(pad.begin() + 14, pad.begin() + 19), (std::vector<uint8_t>{0xb8, 186, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(pad.begin() + 23, pad.begin() + 28), (std::vector<uint8_t>{0xba, SIGURG, 0, 0, 0}));
  EXPECT_EQ(std::vector<uint8_t>(pad.begin() + notice - 7, pad.begin() + notice),
            (std::vector<uint8_t>{0xb8, 234, 0, 0, 0, 0x0f, 0x05}));
  EXPECT_EQ(std::vector<uint8_t>(pad.begin() + sigreturn - 7, pad.end()),
            (std::vector<uint8_t>{0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b}));
}

// What glibc's _start leaves below the initial stack pointer, and what ld.so's frames
// hold there before it runs (measured on Debian 12; docs/agent.md).
TEST(X86_64, ProgramStartedReadsGlibcStartFromTheInitialStack) {
  const RemoteAddr sp0(0x7ffd80ece630), entry(0x555ee44ee3d0);
  const hotpatch::RemoteRange program{RemoteAddr(0x555ee44ee000), RemoteAddr(0x555ee44ef000)};
  auto in_program = [&](RemoteAddr a) { return program.contains(a); };
  arch::Registers regs;
  regs.set_pc(RemoteAddr(0x7f4e81ee7784));  // in ld.so
  std::array<uint64_t, 3> before_entry = {0, 0, 0x7f4e81ee6b78};  // [sp-24], [sp-16], [sp-8]
  EXPECT_FALSE(arch::program_started(regs, sp0, entry, before_entry, in_program));
  std::array<uint64_t, 3> after_start = {0x555ee44ee3f1, sp0.value() - 8, 0x38};
  regs.set_pc(RemoteAddr(0x7f4e81d12e70));  // in libc, called from main
  EXPECT_TRUE(arch::program_started(regs, sp0, entry, after_start, in_program));
  regs.set_pc(entry);  // at the entry point: nothing ran
  EXPECT_FALSE(arch::program_started(regs, sp0, entry, before_entry, in_program));
  regs.set_pc(entry + 4);  // the program's own code runs
  EXPECT_TRUE(arch::program_started(regs, sp0, entry, before_entry, in_program));
  // A return address that is not into the program is not glibc's mark.
  std::array<uint64_t, 3> not_program = {0x7f4e81ee6b78, sp0.value() - 8, 0};
  regs.set_pc(RemoteAddr(0x7f4e81ee7784));
  EXPECT_FALSE(arch::program_started(regs, sp0, entry, not_program, in_program));
}

// The branches the assembler may encode short or long are told by kind, condition
// and destination, whatever their length; anything else is `none`.
TEST(ArchX86_64, DecodedBranchesAreTheSameWhateverTheirLength) {
  using B = arch::Instruction::Branch;
  // jmp -125 (rel32, the program's, F4); jmp rel8 with the same destination from +5.
  const uint8_t code[] = {0xe9, 0x83, 0xff, 0xff, 0xff, 0xeb, 0x86, 0x74, 0x02, 0x0f, 0x84, 0x10, 0x00,
                          0x00, 0x00, 0x75, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x66, 0xe9, 0x00, 0x00, 0xc3};
  auto ins = arch::decode_instructions(code);
  ASSERT_TRUE(ins);
  ASSERT_EQ(ins->size(), 8u);
  EXPECT_EQ((*ins)[0].branch, B::jump);
  EXPECT_EQ((*ins)[0].size, 5u);
  EXPECT_EQ((*ins)[0].target, 5 - 125);
  EXPECT_EQ((*ins)[1].branch, B::jump);
  EXPECT_EQ((*ins)[1].offset, 5u);
  EXPECT_EQ((*ins)[1].size, 2u);
  EXPECT_EQ((*ins)[1].target, 7 - 122);
  EXPECT_EQ((*ins)[2].branch, B::conditional);  // je +2
  EXPECT_EQ((*ins)[3].branch, B::conditional);  // je rel32 +0x10
  EXPECT_EQ((*ins)[2].condition, (*ins)[3].condition);
  EXPECT_EQ((*ins)[2].target, 11);
  EXPECT_EQ((*ins)[3].target, 15 + 0x10);
  EXPECT_EQ((*ins)[4].branch, B::conditional);  // jne
  EXPECT_NE((*ins)[4].condition, (*ins)[2].condition);
  EXPECT_EQ((*ins)[5].branch, B::none);  // call rel32
  EXPECT_EQ((*ins)[6].branch, B::none);  // jmp rel16 (operand-size prefix)
  EXPECT_EQ((*ins)[6].size, 4u);
  EXPECT_EQ((*ins)[7].branch, B::none);  // ret
  // One instruction from an offset; code that does not decode to its end.
  auto one = arch::decode_instructions(std::span<const uint8_t>(code).subspan(5), 1);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].target, 2 - 122);
  const uint8_t cut[] = {0x90, 0x0f};
  EXPECT_FALSE(arch::decode_instructions(cut));
}

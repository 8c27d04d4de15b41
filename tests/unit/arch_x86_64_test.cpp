// Bytes out against bytes expected, with the disassembly beside them.
#include <gtest/gtest.h>

#include "arch/arch.h"

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

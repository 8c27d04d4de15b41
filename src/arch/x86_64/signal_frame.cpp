// x86_64 signal frames for remote calls that survive the tracer's death (arch.h).
//
// The frame is the one the kernel builds for a signal handler and reads back in
// rt_sigreturn (arch/x86/kernel/signal.c): the return address, a ucontext (flags,
// link, sigaltstack, sigcontext, 64-bit signal mask), a siginfo, and, 64-byte
// aligned above them, the XSAVE image the sigcontext's fpstate points to.
#include <sys/syscall.h>
#include <sys/ucontext.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "arch/arch.h"

namespace hotpatch::arch {

namespace {

// Kernel-internal results of an interrupted syscall (include/linux/errno.h); they
// never reach a program: the kernel turns them into a restart or into -EINTR.
constexpr int64_t kERestartSys = 512, kERestartNoIntr = 513, kERestartNoHand = 514, kERestartRestartBlock = 516;

// struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; }:
// glibc's ucontext_t starts like the kernel's (uc_flags, uc_link, uc_stack,
// uc_mcontext = struct sigcontext) but its sigset_t is 128 bytes, the kernel's 8.
constexpr size_t kUcontextOffset = 8;
constexpr size_t kKernelUcontextSize = 304;
constexpr size_t kSiginfoSize = 128;
constexpr size_t kRtSigframeSize = kUcontextOffset + kKernelUcontextSize + kSiginfoSize;
static_assert(offsetof(ucontext_t, uc_mcontext) == 40);
static_assert(offsetof(ucontext_t, uc_sigmask) == 296);
static_assert(sizeof(mcontext_t) == 256);

// uc_flags (arch/x86/include/uapi/asm/ucontext.h).
constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;

// The XSAVE image: the 512-byte legacy area whose bytes 464..511 are free for
// software; the kernel keeps struct _fpx_sw_bytes there in signal frames, and
// ptrace (NT_X86_XSTATE) keeps XCR0 in their first 8 bytes instead.
constexpr size_t kFxsaveSize = 512;
constexpr size_t kSwBytesOffset = 464;
constexpr uint32_t kFpXstateMagic1 = 0x46505853;  // "FPXS"
constexpr uint32_t kFpXstateMagic2 = 0x46505845;  // "FPXE", right after the image
constexpr size_t kXsaveHeaderOffset = 512;
constexpr size_t kXsaveAlignment = 64;
constexpr uint64_t kXfeaturesFpSse = 0x3;

constexpr std::array<uint8_t, 9> kRestorer = {
    0x48, 0xC7, 0xC0, 0x0F, 0x00, 0x00, 0x00,  // mov $15 (rt_sigreturn), %rax
    0x0F, 0x05,                                // syscall
};

void put(std::vector<uint8_t>& out, size_t at, const void* v, size_t n) { std::memcpy(out.data() + at, v, n); }
void put64(std::vector<uint8_t>& out, size_t at, uint64_t v) { put(out, at, &v, 8); }
void put32(std::vector<uint8_t>& out, size_t at, uint32_t v) { put(out, at, &v, 4); }

}  // namespace

bool restart_is_invisible(int64_t nr) {
  switch (nr) {
    case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_rt_sigtimedwait:
    case SYS_semop: case SYS_semtimedop:
    case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg: case SYS_accept: case SYS_accept4:
    case SYS_sendto: case SYS_sendmsg: case SYS_sendmmsg:
    case SYS_io_getevents: case SYS_io_pgetevents:
    case SYS_mq_timedsend: case SYS_mq_timedreceive:
      return true;
    default:
      return false;
  }
}

bool restart_unless_signalled(Registers& regs) {
  if (regs.syscall_number() < 0 || regs.syscall_result() != -EINTR || !restart_is_invisible(regs.syscall_number()))
    return false;
  regs.raw().rax = static_cast<uint64_t>(-kERestartNoHand);
  return true;
}

void settle_interrupted_syscall(Registers& regs) {
  if (regs.syscall_number() < 0) return;
  switch (regs.syscall_result()) {
    case -kERestartSys:
    case -kERestartNoIntr:
    case -kERestartNoHand:
      rewind_to_restart_syscall(regs);
      break;
    case -kERestartRestartBlock:
      // The kernel resumes such a call through restart_syscall, which finds the
      // rest of it (the remaining sleep) in the thread's restart block.
      regs.raw().rax = SYS_restart_syscall;
      regs.raw().rip -= kSyscallInstructionSize;
      break;
    default:
      break;
  }
  regs.clear_syscall_number();
}

int64_t sigreturn_syscall() { return SYS_rt_sigreturn; }

std::span<const uint8_t> signal_restorer_code() { return kRestorer; }
size_t signal_restorer_syscall_end() { return kRestorer.size(); }

std::vector<uint8_t> return_pad_code(int notice_signal) {
  std::vector<uint8_t> code = {0x48, 0x89, 0x44, 0x24, 0xF8};  // mov %rax, -8(%rsp): over the return address just popped
  if (notice_signal) {
    // The thread's own ids, as the target's pid namespace numbers them.
    const uint8_t sig = static_cast<uint8_t>(notice_signal);
    const uint8_t notice[] = {
        0xB8, 0x27, 0x00, 0x00, 0x00,  // mov $39 (getpid), %eax
        0x0F, 0x05,                    // syscall
        0x89, 0xC7,                    // mov %eax, %edi
        0xB8, 0xBA, 0x00, 0x00, 0x00,  // mov $186 (gettid), %eax
        0x0F, 0x05,                    // syscall
        0x89, 0xC6,                    // mov %eax, %esi
        0xBA, sig,  0x00, 0x00, 0x00,  // mov $SIG, %edx
        0xB8, 0xEA, 0x00, 0x00, 0x00,  // mov $234 (tgkill), %eax
        0x0F, 0x05,                    // syscall: the notice stop is right after it
    };
    code.insert(code.end(), std::begin(notice), std::end(notice));
  }
  const uint8_t sigreturn[] = {
      0xB8, 0x0F, 0x00, 0x00, 0x00,  // mov $15 (rt_sigreturn), %eax
      0x0F, 0x05,                    // syscall
      0x0F, 0x0B,                    // ud2: rt_sigreturn never comes back here
  };
  code.insert(code.end(), std::begin(sigreturn), std::end(sigreturn));
  return code;
}
size_t return_pad_notice_end() { return 5 + 30; }
size_t return_pad_syscall_end(int notice_signal) { return (notice_signal ? return_pad_notice_end() : 5) + 7; }

std::optional<InterruptedContext> interrupted_context(std::span<const uint8_t> frame) {
  const size_t uc = kUcontextOffset;
  const size_t gregs = uc + offsetof(ucontext_t, uc_mcontext) + offsetof(mcontext_t, gregs);
  static_assert(kUcontextOffset + offsetof(ucontext_t, uc_mcontext) + offsetof(mcontext_t, gregs) + 8 * (REG_RIP + 1) ==
                kSignalFrameContextSize);
  if (frame.size() < kSignalFrameContextSize) return std::nullopt;
  auto word = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, frame.data() + at, 8);
    return v;
  };
  if ((word(uc + offsetof(ucontext_t, uc_flags)) & ~(kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs)) != 0 ||
      word(uc + offsetof(ucontext_t, uc_link)) != 0)
    return std::nullopt;
  return InterruptedContext{RemoteAddr(word(gregs + 8 * REG_RIP)), RemoteAddr(word(gregs + 8 * REG_RSP))};
}

SignalFrame build_signal_frame(const Registers& context, std::span<const uint8_t> extended_state,
                               uint64_t blocked_signals, RemoteAddr below, RemoteAddr return_address) {
  const bool xsave = extended_state.size() > kFxsaveSize;
  const size_t fp_size = extended_state.size() + (xsave ? 4 : 0);
  const uint64_t fp_start = (below.value() - fp_size) & ~uint64_t{kXsaveAlignment - 1};
  // At a handler's first instruction rsp (pointing at the return address) is
  // 8 mod 16, as at any function's entry.
  const uint64_t start = ((fp_start - kRtSigframeSize) & ~uint64_t{kStackAlignment - 1}) - 8;

  SignalFrame frame;
  frame.start = RemoteAddr(start);
  frame.call_stack_top = RemoteAddr(start + 8);
  frame.sigreturn_sp = RemoteAddr(start + 8);
  frame.result_slot = RemoteAddr(start);
  std::vector<uint8_t>& out = frame.bytes;
  out.assign(fp_start + fp_size - start, 0);
  put64(out, 0, return_address.value());

  const size_t uc = kUcontextOffset;
  put64(out, uc + offsetof(ucontext_t, uc_flags),
        kUcSigcontextSs | kUcStrictRestoreSs | (xsave ? kUcFpXstate : 0));
  // uc_link and uc_stack stay zero: an all-zero stack_t is refused by rt_sigreturn's
  // sigaltstack step, whose errors it ignores, so the thread's alternate stack stays.
  const user_regs_struct& r = context.raw();
  const size_t gregs = uc + offsetof(ucontext_t, uc_mcontext) + offsetof(mcontext_t, gregs);
  auto greg = [&](int index, uint64_t value) { put64(out, gregs + 8 * index, value); };
  greg(REG_R8, r.r8);
  greg(REG_R9, r.r9);
  greg(REG_R10, r.r10);
  greg(REG_R11, r.r11);
  greg(REG_R12, r.r12);
  greg(REG_R13, r.r13);
  greg(REG_R14, r.r14);
  greg(REG_R15, r.r15);
  greg(REG_RDI, r.rdi);
  greg(REG_RSI, r.rsi);
  greg(REG_RBP, r.rbp);
  greg(REG_RBX, r.rbx);
  greg(REG_RDX, r.rdx);
  greg(REG_RAX, r.rax);
  greg(REG_RCX, r.rcx);
  greg(REG_RSP, r.rsp);
  greg(REG_RIP, r.rip);
  greg(REG_EFL, r.eflags);
  // cs, gs, fs, ss as four 16-bit fields; gs and fs are not restored in 64-bit mode.
  greg(REG_CSGSFS, (r.cs & 0xFFFF) | ((r.ss & 0xFFFF) << 48));
  put64(out, uc + offsetof(ucontext_t, uc_mcontext) + offsetof(mcontext_t, fpregs), fp_start);
  put64(out, uc + offsetof(ucontext_t, uc_sigmask), blocked_signals);

  const size_t fp = fp_start - start;
  put(out, fp, extended_state.data(), extended_state.size());
  if (xsave) {
    // Tell rt_sigreturn this is a full XSAVE image (else it restores x87/SSE only
    // and resets AVX and the rest).
    uint64_t xfeatures = 0;
    std::memcpy(&xfeatures, extended_state.data() + kSwBytesOffset, 8);  // XCR0, as ptrace leaves it
    if (xfeatures == 0) std::memcpy(&xfeatures, extended_state.data() + kXsaveHeaderOffset, 8);
    xfeatures |= kXfeaturesFpSse;
    std::memset(out.data() + fp + kSwBytesOffset, 0, kFxsaveSize - kSwBytesOffset);
    put32(out, fp + kSwBytesOffset + 0, kFpXstateMagic1);
    put32(out, fp + kSwBytesOffset + 4, static_cast<uint32_t>(extended_state.size() + 4));  // extended_size
    put64(out, fp + kSwBytesOffset + 8, xfeatures);
    put32(out, fp + kSwBytesOffset + 16, static_cast<uint32_t>(extended_state.size()));  // xstate_size
    put32(out, fp + extended_state.size(), kFpXstateMagic2);
  } else {
    std::memset(out.data() + fp + kSwBytesOffset, 0, kFxsaveSize - kSwBytesOffset);
  }
  return frame;
}

}  // namespace hotpatch::arch

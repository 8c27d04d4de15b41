// Clobber analysis on hand-assembled code, and the register-preserving stub run for
// real in this process: arguments (registers and stack) pass through, the result
// comes back, and the registers it must keep survive a callee that trashes them.
#include <sys/mman.h>

#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "arch/arch.h"

using hotpatch::RemoteAddr;
namespace arch = hotpatch::arch;

namespace {

// A tiny "object": functions at fixed link-time addresses.
struct FakeObject {
  std::map<uint64_t, std::vector<uint8_t>> functions;
  arch::CodeSource source() const {
    arch::CodeSource s;
    s.read = [this](uint64_t addr, size_t len, std::vector<uint8_t>& out) {
      auto it = functions.find(addr);
      if (it == functions.end() || it->second.size() < len) return false;
      out.assign(it->second.begin(), it->second.begin() + len);
      return true;
    };
    s.function_size_at = [this](uint64_t addr) -> std::optional<uint64_t> {
      auto it = functions.find(addr);
      if (it == functions.end()) return std::nullopt;
      return it->second.size();
    };
    return s;
  }
};

constexpr uint32_t bit(int r) { return 1u << r; }

}  // namespace

TEST(Clobbers, LeafFunctionWritesOnlyWhatItWrites) {
  FakeObject obj;
  // lea eax, [rdi+rdi]; ret
  obj.functions[0x1000] = {0x8d, 0x04, 0x3f, 0xc3};
  auto set = arch::clobbered_registers(0x1000, 4, obj.source());
  EXPECT_EQ(set.general, bit(0));  // rax
  EXPECT_EQ(set.vector, 0u);
  EXPECT_EQ(set.names(), "rax");
}

TEST(Clobbers, FollowsDirectCallsIntoTheSameObject) {
  FakeObject obj;
  // 0x1000: call 0x2000; ret          (e8 rel32 = 0x2000 - 0x1005)
  obj.functions[0x1000] = {0xe8, 0xfb, 0x0f, 0x00, 0x00, 0xc3};
  // 0x2000: mov ecx, 1; pxor xmm3, xmm3; ret
  obj.functions[0x2000] = {0xb9, 0x01, 0x00, 0x00, 0x00, 0x66, 0x0f, 0xef, 0xdb, 0xc3};
  auto set = arch::clobbered_registers(0x1000, 6, obj.source());
  EXPECT_EQ(set.general, bit(1));  // rcx (rsp changes by call/ret are not call-clobbered)
  EXPECT_EQ(set.vector, bit(3));
}

TEST(Clobbers, UnknownCalleeMeansEverything) {
  FakeObject obj;
  // call 0x9000 (nothing there: a PLT entry, say); ret
  obj.functions[0x1000] = {0xe8, 0xfb, 0x7f, 0x00, 0x00, 0xc3};
  EXPECT_EQ(arch::clobbered_registers(0x1000, 6, obj.source()), arch::RegisterSet::all_call_clobbered());
}

TEST(Clobbers, IndirectJumpMeansEverything) {
  FakeObject obj;
  // jmp rax
  obj.functions[0x1000] = {0xff, 0xe0};
  EXPECT_EQ(arch::clobbered_registers(0x1000, 2, obj.source()), arch::RegisterSet::all_call_clobbered());
}

TEST(Clobbers, RecursionTerminates) {
  FakeObject obj;
  // 0x1000: mov edx, 1; call 0x1000; ret
  obj.functions[0x1000] = {0xba, 0x01, 0x00, 0x00, 0x00, 0xe8, 0xf6, 0xff, 0xff, 0xff, 0xc3};
  auto set = arch::clobbered_registers(0x1000, 11, obj.source());
  EXPECT_EQ(set.general, bit(2));  // rdx
}

TEST(Clobbers, UnreadableCodeMeansEverything) {
  FakeObject obj;
  EXPECT_EQ(arch::clobbered_registers(0x1000, 16, obj.source()), arch::RegisterSet::all_call_clobbered());
}

// --- The stub, executed ---------------------------------------------------------

extern "C" {
// The "replacement": trashes every call-clobbered register it may, and checks that
// its eight arguments (six in registers, two on the stack) arrived intact.
__attribute__((noinline, noipa)) long replacement_sum8(long a, long b, long c, long d, long e, long f, long g, long h) {
  asm volatile("xor %%ecx, %%ecx; xor %%edx, %%edx; xor %%esi, %%esi; xor %%edi, %%edi; xor %%r8d, %%r8d;"
               "xor %%r9d, %%r9d; xor %%r10d, %%r10d; xor %%r11d, %%r11d; pxor %%xmm2, %%xmm2; pxor %%xmm9, %%xmm9"
               ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm2", "xmm9", "memory");
  return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}
}

TEST(PreservingStub, PassesArgumentsAndKeepsRegisters) {
  arch::RegisterSet keep{bit(2) | bit(8) | bit(11), bit(2) | bit(9)};  // rdx, r8, r11, xmm2, xmm9
  auto code = arch::encode_preserving_stub(RemoteAddr(reinterpret_cast<uint64_t>(&replacement_sum8)), keep);
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  std::memcpy(page, code.data(), code.size());
  ASSERT_EQ(mprotect(page, 4096, PROT_READ | PROT_EXEC), 0);

  long result;
  unsigned long rdx_after, r8_after, r11_after;
  double xmm2_after, xmm9_after;
  const double two = 2.0, nine = 9.0;
  // Call the stub as a caller that keeps values in rdx/r8/r11/xmm2/xmm9 across the
  // call would. rdx and r8 are also arguments: they must arrive and survive.
  asm volatile(
      "movq %[two], %%xmm2\n\t"
      "movq %[nine], %%xmm9\n\t"
      "mov $1, %%rdi\n\t"
      "mov $2, %%rsi\n\t"
      "mov $3, %%rdx\n\t"
      "mov $4, %%rcx\n\t"
      "mov $5, %%r8\n\t"
      "mov $6, %%r9\n\t"
      "mov $0x3333, %%r11\n\t"
      "sub $8, %%rsp\n\t"          // with the two pushes: rsp stays 16-aligned at the call
      "pushq $8\n\t"
      "pushq $7\n\t"               // stack arguments g=7, h=8
      "xor %%eax, %%eax\n\t"
      "call *%[stub]\n\t"
      "add $24, %%rsp\n\t"
      "mov %%rdx, %[rdx_after]\n\t"
      "mov %%r8, %[r8_after]\n\t"
      "mov %%r11, %[r11_after]\n\t"
      "movq %%xmm2, %[x2]\n\t"
      "movq %%xmm9, %[x9]\n\t"
      : "=&a"(result), [rdx_after] "=m"(rdx_after), [r8_after] "=m"(r8_after), [r11_after] "=m"(r11_after),
        [x2] "=m"(xmm2_after), [x9] "=m"(xmm9_after)
      : [stub] "b"(page), [two] "m"(two), [nine] "m"(nine)
      : "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm9", "memory", "cc");
  munmap(page, 4096);
  EXPECT_EQ(result, 1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8);
  EXPECT_EQ(rdx_after, 3u);
  EXPECT_EQ(r8_after, 5u);
  EXPECT_EQ(r11_after, 0x3333u);
  EXPECT_EQ(xmm2_after, 2.0);
  EXPECT_EQ(xmm9_after, 9.0);
}

// --- The stub's unwind table, with this process's own unwinder ------------------

extern "C" {
void __register_frame(void* begin);
void __deregister_frame(void* begin);

__attribute__((noinline)) long replacement_throws(long a) {
  if (a > 0) throw std::runtime_error("from the replacement");
  return a;
}
}

namespace {
// A preserving stub in an executable page of its own, calling replacement_throws.
struct PlacedStub {
  void* page = nullptr;
  arch::StubUnwind unwind;
  PlacedStub() {
    arch::RegisterSet keep{bit(2) | bit(8), bit(3)};  // rdx, r8, xmm3
    auto code = arch::encode_preserving_stub(RemoteAddr(reinterpret_cast<uint64_t>(&replacement_throws)), keep, &unwind);
    page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    std::memcpy(page, code.data(), code.size());
    mprotect(page, 4096, PROT_READ | PROT_EXEC);
    unwind.start = RemoteAddr(reinterpret_cast<uint64_t>(page));
  }
  ~PlacedStub() { munmap(page, 4096); }
  long call(long a) const { return reinterpret_cast<long (*)(long)>(page)(a); }
};

bool caught_through(const PlacedStub& stub) {
  try {
    stub.call(1);
  } catch (const std::runtime_error& e) {
    return std::string(e.what()) == "from the replacement";
  }
  return false;
}
}  // namespace

TEST(PreservingStub, UnwindTableLetsExceptionsPassTheStub) {
  PlacedStub stub;
  ASSERT_NE(stub.page, MAP_FAILED);
  auto table = arch::encode_stub_unwind_table({stub.unwind});
  __register_frame(table.data());
  bool caught = caught_through(stub);
  EXPECT_EQ(stub.call(-5), -5);  // and the ordinary return still works
  __deregister_frame(table.data());
  EXPECT_TRUE(caught);
}

// The same throw without the table: the unwinder cannot leave the stub's frame.
TEST(PreservingStubDeathTest, WithoutUnwindTableAnExceptionTerminates) {
  PlacedStub stub;
  ASSERT_NE(stub.page, MAP_FAILED);
  EXPECT_DEATH(caught_through(stub), "terminate called");
}

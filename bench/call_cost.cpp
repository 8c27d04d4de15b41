// P1: what a redirect costs per call.
//
// Three ways to reach the same replacement function:
//   direct   - call the replacement itself (the floor);
//   patched  - call an original whose entry holds the jump hotpatch writes
//              (arch::encode_near_jump after endbr64, exactly as the Patcher does);
//   pushret  - call an original whose entry holds `push imm32; mov dword [rsp+4], imm32;
//              ret` (the seed project's 64-bit jump), built here for comparison only.
// Each at call depth 0 (the timing loop calls it) and depth 8 (eight nested frames
// below the loop, so a desynchronised return-stack buffer costs a misprediction on
// every return up the chain). Calls go through a volatile function pointer and every
// function involved is noipa, so the compiler can neither inline nor elide them.
//
// Prints two "P1 call depth=..." lines: per-call nanoseconds, medians of the trials.
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "arch/arch.h"

namespace {

using Function = int (*)(int);

extern "C" __attribute__((noipa)) int replacement(int x) { return x + 1; }

// Originals only need to be long enough for the largest redirect (4-byte endbr64 +
// 14-byte push/ret); their bodies never run once redirected.
extern "C" __attribute__((noipa)) int original_for_jump(int x) {
  int acc = x;
  for (int i = 0; i < (x & 7); ++i) acc = acc * 31 + i;
  return acc;
}
extern "C" __attribute__((noipa)) int original_for_pushret(int x) {
  int acc = x;
  for (int i = 0; i < (x & 7); ++i) acc = acc * 37 + i;
  return acc;
}

// Writes `code` at the function's entry, after endbr64 if there is one.
bool overwrite_entry(void* function, const std::vector<uint8_t>& code_for_site, size_t& site_offset) {
  auto* entry = static_cast<uint8_t*>(function);
  site_offset = hotpatch::arch::entry_prologue_to_keep(std::span<const uint8_t>(entry, 16));
  const long page = ::sysconf(_SC_PAGESIZE);
  auto first_page = reinterpret_cast<uintptr_t>(entry) & ~static_cast<uintptr_t>(page - 1);
  size_t span = reinterpret_cast<uintptr_t>(entry) + 32 - first_page;
  if (::mprotect(reinterpret_cast<void*>(first_page), span, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return false;
  std::memcpy(entry + site_offset, code_for_site.data(), code_for_site.size());
  return true;
}

std::vector<uint8_t> push_ret_redirect(uintptr_t destination) {
  auto low = static_cast<uint32_t>(destination), high = static_cast<uint32_t>(destination >> 32);
  std::vector<uint8_t> code = {0x68};                          // push imm32 (low half, sign-extended)
  for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(low >> (8 * i)));
  for (uint8_t b : {0xC7, 0x44, 0x24, 0x04}) code.push_back(b);  // mov dword [rsp+4], imm32 (high half)
  for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(high >> (8 * i)));
  code.push_back(0xC3);                                        // ret
  return code;
}

// Nested frames: nest<8> -> nest<7> -> ... -> nest<1> -> function. The "+ 1" after each
// call keeps every call a real call (no tail jump).
template <int Depth>
__attribute__((noipa)) int nest(Function f, int x) {
  if constexpr (Depth == 1) return f(x) + 1;
  else return nest<Depth - 1>(f, x) + 1;
}

volatile Function g_target = replacement;
volatile int g_sink;

// Many short trials rather than a few long ones: this VM's noise comes in bursts
// (steal time, frequency changes) that a median over short interleaved trials drops.
constexpr int kCallsPerTrial = 200'000;
constexpr int kTrials = 301;

template <int Depth>
double ns_per_call(Function f) {
  g_target = f;
  int acc = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCallsPerTrial; ++i) {
    Function fn = g_target;  // volatile read: the call target is unknown to the compiler
    if constexpr (Depth == 0) acc += fn(i);
    else acc += nest<Depth>(fn, i);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  g_sink = acc;
  return std::chrono::duration<double, std::nano>(elapsed).count() / kCallsPerTrial;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <int Depth>
void measure_and_print(Function direct, Function patched, Function pushret) {
  std::vector<double> d, p, r;
  // Interleaved, in a rotating order, so all three see the same machine noise and
  // none always runs first.
  for (int t = 0; t < kTrials; ++t) {
    for (int k = 0; k < 3; ++k) {
      switch ((t + k) % 3) {
        case 0: d.push_back(ns_per_call<Depth>(direct)); break;
        case 1: p.push_back(ns_per_call<Depth>(patched)); break;
        case 2: r.push_back(ns_per_call<Depth>(pushret)); break;
      }
    }
  }
  std::printf("P1 call depth=%d direct_ns=%.2f patched_ns=%.2f pushret_ns=%.2f\n", Depth, median(d), median(p), median(r));
}

}  // namespace

int main() {
  // One core: migrations between trials would only add noise.
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  sched_setaffinity(0, sizeof one, &one);

  size_t jump_site = 0, pushret_site = 0;
  auto jump_from = reinterpret_cast<uintptr_t>(&original_for_jump);
  {
    size_t keep = hotpatch::arch::entry_prologue_to_keep(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(jump_from), 16));
    auto jump = hotpatch::arch::encode_near_jump(hotpatch::RemoteAddr(jump_from + keep),
                                                 hotpatch::RemoteAddr(reinterpret_cast<uintptr_t>(&replacement)));
    if (!jump || !overwrite_entry(reinterpret_cast<void*>(jump_from), *jump, jump_site)) {
      std::fprintf(stderr, "call_cost: cannot redirect original_for_jump\n");
      return 1;
    }
  }
  if (!overwrite_entry(reinterpret_cast<void*>(&original_for_pushret),
                       push_ret_redirect(reinterpret_cast<uintptr_t>(&replacement)), pushret_site)) {
    std::fprintf(stderr, "call_cost: cannot redirect original_for_pushret\n");
    return 1;
  }
  // Both redirects must land in the replacement, or the comparison means nothing.
  if (original_for_jump(41) != 42 || original_for_pushret(41) != 42) {
    std::fprintf(stderr, "call_cost: a redirect does not reach the replacement\n");
    return 1;
  }
  ns_per_call<0>(replacement);  // warm-up: frequency scaling, caches
  measure_and_print<0>(replacement, original_for_jump, original_for_pushret);
  measure_and_print<8>(replacement, original_for_jump, original_for_pushret);
  return 0;
}

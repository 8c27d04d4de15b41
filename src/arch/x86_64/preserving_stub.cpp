// x86_64: the register-preserving stub and the register sets it works on (see
// arch.h). No disassembler here: the runtime builds this file too.
#include <cstring>

#include "arch/arch.h"

namespace hotpatch::arch {

namespace {

// Hardware numbers of the System V call-clobbered general registers.
constexpr int kRax = 0, kRcx = 1, kRdx = 2, kRsi = 6, kRdi = 7, kR8 = 8;
constexpr uint32_t kCallClobberedGeneral =
    (1u << kRax) | (1u << kRcx) | (1u << kRdx) | (1u << kRsi) | (1u << kRdi) | (0xFu << kR8);
constexpr const char* kGeneralNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

void emit(std::vector<uint8_t>& out, std::initializer_list<uint8_t> bytes) { out.insert(out.end(), bytes); }
void emit32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// movdqu [rsp+disp32], xmmN  /  movdqu xmmN, [rsp+disp32]
void emit_movdqu(std::vector<uint8_t>& out, int xmm, uint32_t disp, bool store) {
  out.push_back(0xF3);
  if (xmm >= 8) out.push_back(0x44);                         // REX.R
  emit(out, {0x0F, static_cast<uint8_t>(store ? 0x7F : 0x6F),
             static_cast<uint8_t>(0x84 | ((xmm & 7) << 3)),  // mod=10 reg=xmm rm=100 (SIB)
             0x24});                                         // SIB: base=rsp
  emit32(out, disp);
}

}  // namespace

RegisterSet RegisterSet::all_call_clobbered() { return {kCallClobberedGeneral, 0xFFFF}; }

std::string RegisterSet::names() const {
  std::string out;
  for (int r = 0; r < 16; ++r)
    if (general & (1u << r)) out += (out.empty() ? "" : ", ") + std::string(kGeneralNames[r]);
  for (int r = 0; r < 16; ++r)
    if (vector & (1u << r)) out += (out.empty() ? "" : ", ") + std::string("xmm") + std::to_string(r);
  return out;
}

std::vector<uint8_t> encode_preserving_stub(RemoteAddr replacement, const RegisterSet& preserve, StubUnwind* unwind) {
  std::vector<uint8_t> out;
  std::vector<StubFrameStep> steps{{0, 8}};  // at entry only the return address is pushed
  auto cfa_now = [&](int64_t delta) {
    steps.push_back({static_cast<uint32_t>(out.size()), static_cast<uint32_t>(steps.back().cfa_offset + delta)});
  };
  std::vector<int> gprs, xmms;
  for (int r = 0; r < 16; ++r)
    if (preserve.general & kCallClobberedGeneral & (1u << r)) gprs.push_back(r);
  for (int r = 0; r < 16; ++r)
    if (preserve.vector & (1u << r)) xmms.push_back(r);

  for (int r : gprs) {  // push r64
    if (r >= 8) out.push_back(0x41);
    out.push_back(static_cast<uint8_t>(0x50 + (r & 7)));
    cfa_now(8);
  }
  const uint32_t copied_words = kCopiedStackArgumentBytes / 8;
  const uint32_t xmm_area = 8 * copied_words;
  uint32_t frame = xmm_area + 16 * static_cast<uint32_t>(xmms.size());
  // Entry rsp is 8 mod 16 (the caller's call pushed the return address); keep the
  // callee's view of alignment the same: rsp must be 0 mod 16 at our call.
  uint32_t pushed = 8 + 8 * static_cast<uint32_t>(gprs.size());
  frame += (16 - (pushed + frame) % 16) % 16;
  emit(out, {0x48, 0x81, 0xEC});  // sub rsp, imm32
  emit32(out, frame);
  cfa_now(frame);
  for (size_t i = 0; i < xmms.size(); ++i) emit_movdqu(out, xmms[i], xmm_area + 16 * static_cast<uint32_t>(i), true);
  // Copy the caller's stack arguments (above its return address) to the new frame.
  // r11 is never an argument register, and is saved above when it must be kept.
  for (uint32_t w = 0; w < copied_words; ++w) {
    emit(out, {0x4C, 0x8B, 0x9C, 0x24});  // mov r11, [rsp+disp32]
    emit32(out, frame + pushed + 8 * w);
    emit(out, {0x4C, 0x89, 0x9C, 0x24});  // mov [rsp+disp32], r11
    emit32(out, 8 * w);
  }
  size_t call_at = out.size();
  emit(out, {0xFF, 0x15});  // call [rip+disp32] -> the address stored after ret
  emit32(out, 0);           // fixed below
  for (size_t i = 0; i < xmms.size(); ++i) emit_movdqu(out, xmms[i], xmm_area + 16 * static_cast<uint32_t>(i), false);
  emit(out, {0x48, 0x81, 0xC4});  // add rsp, imm32
  emit32(out, frame);
  cfa_now(-static_cast<int64_t>(frame));
  for (auto it = gprs.rbegin(); it != gprs.rend(); ++it) {  // pop r64
    if (*it >= 8) out.push_back(0x41);
    out.push_back(static_cast<uint8_t>(0x58 + (*it & 7)));
    cfa_now(-8);
  }
  out.push_back(0xC3);  // ret
  if (unwind) {
    unwind->code_size = static_cast<uint32_t>(out.size());
    unwind->steps = std::move(steps);
  }
  while (out.size() % 8) out.push_back(0xCC);  // int3 padding up to the data
  uint32_t disp = static_cast<uint32_t>(out.size() - (call_at + 6));
  std::memcpy(&out[call_at + 2], &disp, 4);
  uint64_t dest = replacement.value();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(dest >> (8 * i)));
  return out;
}

}  // namespace hotpatch::arch

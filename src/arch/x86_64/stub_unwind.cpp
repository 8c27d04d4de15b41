// x86_64 DWARF call frame information for the register-preserving stubs (arch.h):
// an .eh_frame table the target's unwinder accepts through __register_frame, so an
// exception thrown in a replacement can pass the stub on its way to the caller.
#include <cstring>

#include "arch/arch.h"

namespace hotpatch::arch {

namespace {

// DWARF register numbers (System V x86_64 psABI), not hardware encodings.
constexpr uint8_t kDwarfRsp = 7;
constexpr uint8_t kDwarfReturnAddress = 16;

// Call frame instructions and pointer encodings (DWARF 3, LSB .eh_frame).
constexpr uint8_t kCfaAdvanceLoc = 0x40;   // low 6 bits: delta
constexpr uint8_t kCfaAdvanceLoc1 = 0x02;  // + 1-byte delta
constexpr uint8_t kCfaAdvanceLoc2 = 0x03;  // + 2-byte delta
constexpr uint8_t kCfaAdvanceLoc4 = 0x04;  // + 4-byte delta
constexpr uint8_t kCfaOffset = 0x80;       // low 6 bits: register; + ULEB128 factored offset
constexpr uint8_t kCfaDefCfa = 0x0c;       // + ULEB128 register, ULEB128 offset
constexpr uint8_t kCfaDefCfaOffset = 0x0e; // + ULEB128 offset
constexpr uint8_t kCfaNop = 0x00;
constexpr uint8_t kPointerAbsolute = 0x00; // DW_EH_PE_absptr: 8-byte addresses

void put_uleb(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    out.push_back(v ? (byte | 0x80) : byte);
  } while (v);
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}
void put64(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  out.insert(out.end(), b, b + 8);
}

// Closes an entry begun at `start` (its length word reserved): pads with nops to
// 8 bytes, as GCC does, and writes the length.
void finish_entry(std::vector<uint8_t>& out, size_t start) {
  while ((out.size() - start) % 8) out.push_back(kCfaNop);
  uint32_t length = static_cast<uint32_t>(out.size() - start - 4);
  std::memcpy(&out[start], &length, 4);
}

void advance(std::vector<uint8_t>& out, uint32_t delta) {
  if (delta == 0) return;
  if (delta < 0x40) {
    out.push_back(static_cast<uint8_t>(kCfaAdvanceLoc | delta));
  } else if (delta <= 0xff) {
    out.push_back(kCfaAdvanceLoc1);
    out.push_back(static_cast<uint8_t>(delta));
  } else if (delta <= 0xffff) {
    out.push_back(kCfaAdvanceLoc2);
    out.push_back(static_cast<uint8_t>(delta));
    out.push_back(static_cast<uint8_t>(delta >> 8));
  } else {
    out.push_back(kCfaAdvanceLoc4);
    put32(out, delta);
  }
}

}  // namespace

std::vector<uint8_t> encode_stub_unwind_table(const std::vector<StubUnwind>& stubs) {
  std::vector<uint8_t> out;
  if (stubs.empty()) return out;
  // CIE: "zR" (FDE pointers absolute), code alignment 1, data alignment -8; at a
  // function's entry the CFA is rsp+8 and the return address is at CFA-8.
  const size_t cie = out.size();
  put32(out, 0);  // length, below
  put32(out, 0);  // CIE id
  out.push_back(1);  // version
  out.insert(out.end(), {'z', 'R', '\0'});
  put_uleb(out, 1);     // code alignment factor
  out.push_back(0x78);  // data alignment factor: SLEB128 -8
  put_uleb(out, kDwarfReturnAddress);
  put_uleb(out, 1);  // augmentation data length
  out.push_back(kPointerAbsolute);
  out.push_back(kCfaDefCfa);
  put_uleb(out, kDwarfRsp);
  put_uleb(out, 8);
  out.push_back(static_cast<uint8_t>(kCfaOffset | kDwarfReturnAddress));
  put_uleb(out, 1);  // 1 * -8
  finish_entry(out, cie);

  for (const StubUnwind& stub : stubs) {
    const size_t fde = out.size();
    put32(out, 0);  // length, below
    put32(out, static_cast<uint32_t>(out.size() - cie));  // back to the CIE, from this field
    put64(out, stub.start.value());
    put64(out, stub.code_size);
    put_uleb(out, 0);  // augmentation data length
    uint32_t at = 0, cfa = 8;
    for (const StubFrameStep& step : stub.steps) {
      if (step.cfa_offset == cfa) continue;
      advance(out, step.from - at);
      at = step.from;
      out.push_back(kCfaDefCfaOffset);
      put_uleb(out, step.cfa_offset);
      cfa = step.cfa_offset;
    }
    finish_entry(out, fde);
  }
  put32(out, 0);  // terminator
  return out;
}

}  // namespace hotpatch::arch

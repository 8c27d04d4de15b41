// x86_64 instruction decoding for comparisons of code (instructions.h):
// lengths from capstone, and the relative branches the assembler may encode short
// or long told apart from everything else.
#include "arch/instructions.h"
#include "arch/x86_64/disassembler.h"

namespace hotpatch::arch {

namespace {

constexpr uint8_t kJmpRel8 = 0xEB;          // jmp rel8
constexpr uint8_t kJmpRel32 = 0xE9;         // jmp rel32
constexpr uint8_t kJccRel8First = 0x70;     // jo rel8 ... jg rel8 (0x70 + condition)
constexpr uint8_t kTwoByteEscape = 0x0F;    // 0f 80 + condition: jcc rel32
constexpr uint8_t kJccRel32First = 0x80;

// A plain relative jmp or jcc: its kind and condition from its opcode. Prefixed
// ones (operand size 66 truncates the destination, hints, bnd) are left as `none`,
// so only byte-identical copies of them match.
bool is_padding(const cs_insn& insn) {
  if (insn.id == X86_INS_NOP) return true;  // 90, 0f 1f /0 with any prefixes
  // 66 90 ("xchg %ax,%ax"), 66 66 90 ...: operand-size prefixes on a one-byte nop.
  if (insn.size < 2 || insn.bytes[insn.size - 1] != 0x90) return false;
  for (size_t i = 0; i + 1 < insn.size; ++i)
    if (insn.bytes[i] != 0x66) return false;
  return true;
}

void classify(const cs_insn& insn, Instruction& out) {
  out.padding = is_padding(insn);
  const cs_x86& x = insn.detail->x86;
  for (uint8_t p : x.prefix)
    if (p != 0) return;
  if (x.rex != 0 || x.op_count != 1 || x.operands[0].type != X86_OP_IMM) return;
  const uint8_t* op = x.opcode;
  if (op[0] == kJmpRel8 || op[0] == kJmpRel32) {
    out.branch = Instruction::Branch::jump;
  } else if (op[0] >= kJccRel8First && op[0] < kJccRel8First + 16) {
    out.branch = Instruction::Branch::conditional;
    out.condition = op[0] - kJccRel8First;
  } else if (op[0] == kTwoByteEscape && op[1] >= kJccRel32First && op[1] < kJccRel32First + 16) {
    out.branch = Instruction::Branch::conditional;
    out.condition = op[1] - kJccRel32First;
  } else {
    return;
  }
  out.target = x.operands[0].imm;  // capstone gives the destination (decoded at address 0)
}

}  // namespace

std::optional<std::vector<Instruction>> decode_instructions(std::span<const uint8_t> code, size_t max_count) {
  std::vector<Instruction> out;
  if (max_count == 0) return out;
  const auto end = x86_64::walk_instructions(code, 0, true, [&](csh, const cs_insn& insn) {
    Instruction i;
    i.offset = insn.address;
    i.size = insn.size;
    classify(insn, i);
    out.push_back(i);
    return out.size() < max_count;
  });
  if (end == x86_64::WalkEnd::Undecodable || end == x86_64::WalkEnd::NoDisassembler) return std::nullopt;
  return out;
}

}  // namespace hotpatch::arch

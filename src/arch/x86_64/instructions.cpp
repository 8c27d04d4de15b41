// x86_64 instruction decoding for comparisons of code (instructions.h):
// lengths from capstone, and the relative branches the assembler may encode short
// or long told apart from everything else.
#include <capstone/capstone.h>

#include "arch/instructions.h"

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
void classify(const cs_insn& insn, Instruction& out) {
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
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) return std::nullopt;
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
  std::vector<Instruction> out;
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t address = 0;
  cs_insn* insn = cs_malloc(cs);
  bool failed = false;
  while (left > 0 && out.size() < max_count) {
    if (!cs_disasm_iter(cs, &p, &left, &address, insn)) {
      failed = true;
      break;
    }
    Instruction i;
    i.offset = insn->address;
    i.size = insn->size;
    classify(*insn, i);
    out.push_back(i);
  }
  cs_free(insn, 1);
  cs_close(&cs);
  if (failed || (max_count == SIZE_MAX && left != 0)) return std::nullopt;
  return out;
}

}  // namespace hotpatch::arch

// x86_64: the destinations of a function's direct calls and jumps (see arch.h).
#include "arch/arch.h"
#include "arch/x86_64/disassembler.h"

namespace hotpatch::arch {

std::optional<std::vector<uint64_t>> direct_branch_targets(std::span<const uint8_t> code, uint64_t vaddr) {
  std::vector<uint64_t> targets;
  const auto end = x86_64::walk_instructions(code, vaddr, true, [&](csh cs, const cs_insn& insn) {
    if (cs_insn_group(cs, &insn, CS_GRP_CALL) || cs_insn_group(cs, &insn, CS_GRP_JUMP)) {
      const cs_x86& x86 = insn.detail->x86;
      if (x86.op_count == 1 && x86.operands[0].type == X86_OP_IMM) targets.push_back(static_cast<uint64_t>(x86.operands[0].imm));
    }
    return true;
  });
  if (end != x86_64::WalkEnd::AllDecoded) return std::nullopt;  // it stopped at bytes it cannot decode
  return targets;
}

}  // namespace hotpatch::arch

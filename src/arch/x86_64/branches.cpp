// x86_64: the destinations of a function's direct calls and jumps (see arch.h).
#include <capstone/capstone.h>

#include "arch/arch.h"

namespace hotpatch::arch {

std::optional<std::vector<uint64_t>> direct_branch_targets(std::span<const uint8_t> code, uint64_t vaddr) {
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) return std::nullopt;
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
  std::vector<uint64_t> targets;
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t address = vaddr;
  cs_insn* insn = cs_malloc(cs);
  while (left > 0 && cs_disasm_iter(cs, &p, &left, &address, insn)) {
    if (!cs_insn_group(cs, insn, CS_GRP_CALL) && !cs_insn_group(cs, insn, CS_GRP_JUMP)) continue;
    const cs_x86& x86 = insn->detail->x86;
    if (x86.op_count == 1 && x86.operands[0].type == X86_OP_IMM) targets.push_back(static_cast<uint64_t>(x86.operands[0].imm));
  }
  const bool whole = left == 0;  // else it stopped at bytes it cannot decode
  cs_free(insn, 1);
  cs_close(&cs);
  if (!whole) return std::nullopt;
  return targets;
}

}  // namespace hotpatch::arch

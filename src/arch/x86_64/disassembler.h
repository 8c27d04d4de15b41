// x86_64: one walk over the instructions of a byte range with capstone, for the
// analyses of this directory (branches, instruction ends, decoding for comparisons).
#pragma once

#include <capstone/capstone.h>

#include <cstdint>
#include <span>

namespace hotpatch::arch::x86_64 {

enum class WalkEnd { AllDecoded, StoppedByVisitor, Undecodable, NoDisassembler };

// Calls visit(handle, insn) for each instruction of `code`, the first at address
// `vaddr`, until it returns false. With `detail`, insn.detail is filled (operands,
// groups). Returns how the walk ended: Undecodable at bytes capstone cannot decode.
template <typename Visit>
WalkEnd walk_instructions(std::span<const uint8_t> code, uint64_t vaddr, bool detail, Visit&& visit) {
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) return WalkEnd::NoDisassembler;
  if (detail) cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
  const uint8_t* p = code.data();
  size_t left = code.size();
  uint64_t address = vaddr;
  cs_insn* insn = cs_malloc(cs);
  WalkEnd end = WalkEnd::AllDecoded;
  while (left > 0) {
    if (!cs_disasm_iter(cs, &p, &left, &address, insn)) {
      end = WalkEnd::Undecodable;
      break;
    }
    if (!visit(cs, *insn)) {
      end = WalkEnd::StoppedByVisitor;
      break;
    }
  }
  cs_free(insn, 1);
  cs_close(&cs);
  return end;
}

}  // namespace hotpatch::arch::x86_64

// x86_64 register preservation: the capstone-based clobber analysis (see arch.h).
// The stub that preserves registers is in preserving_stub.cpp, which the runtime
// also builds without capstone.
#include <capstone/capstone.h>

#include <cstring>
#include <set>

#include "arch/arch.h"
#include "arch/x86_64/disassembler.h"

namespace hotpatch::arch {

namespace {

const uint32_t kCallClobberedGeneral = RegisterSet::all_call_clobbered().general;
// Analysis budget: beyond this much code, give the conservative answer.
constexpr size_t kMaxInstructions = 200000;
constexpr int kMaxCallDepth = 16;
constexpr uint64_t kMaxFunctionSize = 1 << 20;

// Capstone register id -> (is_vector, number), or nullopt for registers we do not track.
std::optional<std::pair<bool, int>> classify(unsigned reg) {
  switch (reg) {
    case X86_REG_RAX: case X86_REG_EAX: case X86_REG_AX: case X86_REG_AL: case X86_REG_AH: return std::pair{false, 0};
    case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH: return std::pair{false, 1};
    case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH: return std::pair{false, 2};
    case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL: return std::pair{false, 6};
    case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL: return std::pair{false, 7};
    case X86_REG_R8: case X86_REG_R8D: case X86_REG_R8W: case X86_REG_R8B: return std::pair{false, 8};
    case X86_REG_R9: case X86_REG_R9D: case X86_REG_R9W: case X86_REG_R9B: return std::pair{false, 9};
    case X86_REG_R10: case X86_REG_R10D: case X86_REG_R10W: case X86_REG_R10B: return std::pair{false, 10};
    case X86_REG_R11: case X86_REG_R11D: case X86_REG_R11W: case X86_REG_R11B: return std::pair{false, 11};
    default: break;
  }
  if (reg >= X86_REG_XMM0 && reg <= X86_REG_XMM15) return std::pair{true, static_cast<int>(reg - X86_REG_XMM0)};
  if (reg >= X86_REG_YMM0 && reg <= X86_REG_YMM15) return std::pair{true, static_cast<int>(reg - X86_REG_YMM0)};
  if (reg >= X86_REG_ZMM0 && reg <= X86_REG_ZMM15) return std::pair{true, static_cast<int>(reg - X86_REG_ZMM0)};
  return std::nullopt;
}

class ClobberAnalysis {
 public:
  explicit ClobberAnalysis(const CodeSource& code) : code_(code) {
    ok_ = cs_open(CS_ARCH_X86, CS_MODE_64, &cs_) == CS_ERR_OK;
    if (ok_) cs_option(cs_, CS_OPT_DETAIL, CS_OPT_ON);
  }
  ~ClobberAnalysis() {
    if (ok_) cs_close(&cs_);
  }

  RegisterSet run(uint64_t entry, uint64_t size) {
    if (!ok_) return RegisterSet::all_call_clobbered();
    return function(entry, size, 0);
  }

 private:
  RegisterSet function(uint64_t entry, uint64_t size, int depth) {
    const RegisterSet all = RegisterSet::all_call_clobbered();
    if (depth > kMaxCallDepth || size == 0 || size > kMaxFunctionSize) return all;
    // A function already being analysed further up contributes nothing new to the
    // union (recursion): its own instructions are counted where it started.
    if (!in_progress_.insert(entry).second) return {};
    std::vector<uint8_t> bytes;
    if (!code_.read(entry, size, bytes)) return all;
    RegisterSet result;
    cs_insn* insn = nullptr;
    size_t count = cs_disasm(cs_, bytes.data(), bytes.size(), entry, 0, &insn);
    uint64_t decoded_end = count ? insn[count - 1].address + insn[count - 1].size : entry;
    // Undecodable bytes inside the function (data, or a decoder gap): be conservative,
    // unless they are only the padding after the last instruction.
    bool complete = count > 0 && decoded_end >= entry + size - 16;
    budget_ += count;
    if (!complete || budget_ > kMaxInstructions) result = all;
    for (size_t i = 0; i < count && !(result == all); ++i) {
      const cs_insn& in = insn[i];
      cs_regs read_regs, write_regs;
      uint8_t nread = 0, nwrite = 0;
      if (cs_regs_access(cs_, &in, read_regs, &nread, write_regs, &nwrite) != CS_ERR_OK) {
        result = all;
        break;
      }
      for (uint8_t w = 0; w < nwrite; ++w) {
        if (auto c = classify(write_regs[w])) {
          if (c->first) result.vector |= 1u << c->second;
          else result.general |= (1u << c->second) & kCallClobberedGeneral;
        }
      }
      bool is_call = cs_insn_group(cs_, &in, CS_GRP_CALL);
      bool is_jump = cs_insn_group(cs_, &in, CS_GRP_JUMP);
      if (!is_call && !is_jump) continue;
      const cs_x86& x86 = in.detail->x86;
      bool direct = x86.op_count == 1 && x86.operands[0].type == X86_OP_IMM;
      if (!direct) {
        // An indirect call or jump: a switch table or a call through a pointer; we
        // cannot tell which, so nothing can be assumed.
        result = all;
        break;
      }
      uint64_t dest = static_cast<uint64_t>(x86.operands[0].imm);
      if (!is_call && dest >= entry && dest < entry + size) continue;  // a branch inside the function
      auto callee_size = code_.function_size_at(dest);
      if (!callee_size) {
        result = all;  // PLT or unknown code: the full ABI clobber set
        break;
      }
      result = result | function(dest, *callee_size, depth + 1);
    }
    if (insn) cs_free(insn, count);
    in_progress_.erase(entry);
    return result;
  }

  const CodeSource& code_;
  csh cs_ = 0;
  bool ok_ = false;
  size_t budget_ = 0;
  std::set<uint64_t> in_progress_;
};

}  // namespace

std::optional<std::vector<uint64_t>> branches_leaving(std::span<const uint8_t> code) {
  std::vector<uint64_t> out;
  const auto end = x86_64::walk_instructions(code, 0, true, [&](csh cs, const cs_insn& insn) {
    const cs_x86& x = insn.detail->x86;
    if (cs_insn_group(cs, &insn, CS_GRP_BRANCH_RELATIVE) && x.op_count == 1 && x.operands[0].type == X86_OP_IMM &&
        static_cast<uint64_t>(x.operands[0].imm) >= code.size())
      // Capstone describes the displacement of a relative branch as its immediate.
      out.push_back(insn.address + (x.encoding.imm_size ? x.encoding.imm_offset : insn.size - 4));
    return true;
  });
  if (end != x86_64::WalkEnd::AllDecoded) return std::nullopt;
  return out;
}

std::optional<uint64_t> instruction_end(std::span<const uint8_t> code, uint64_t offset) {
  std::optional<uint64_t> end;
  x86_64::walk_instructions(code, 0, false, [&](csh, const cs_insn& insn) {
    if (offset >= insn.address && offset < insn.address + insn.size) {
      end = insn.address + insn.size;
      return false;
    }
    return insn.address <= offset;
  });
  return end;
}

std::optional<std::vector<std::pair<int64_t, int64_t>>> immediate_differences(std::span<const uint8_t> before,
                                                                              std::span<const uint8_t> after) {
  if (before.size() != after.size()) return std::nullopt;
  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) return std::nullopt;
  cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
  cs_insn* a = nullptr;
  cs_insn* b = nullptr;
  size_t na = cs_disasm(cs, before.data(), before.size(), 0, 0, &a);
  size_t nb = cs_disasm(cs, after.data(), after.size(), 0, 0, &b);
  std::optional<std::vector<std::pair<int64_t, int64_t>>> result;
  bool ok = na == nb && na > 0;
  std::vector<std::pair<int64_t, int64_t>> diffs;
  for (size_t i = 0; ok && i < na; ++i) {
    if (a[i].size == b[i].size && std::memcmp(a[i].bytes, b[i].bytes, a[i].size) == 0) continue;
    const cs_x86& xa = a[i].detail->x86;
    const cs_x86& xb = b[i].detail->x86;
    if (a[i].id != b[i].id || a[i].size != b[i].size || xa.op_count != xb.op_count) {
      ok = false;
      break;
    }
    // A branch's immediate is its destination: a different one is other control
    // flow, not another constant.
    if (cs_insn_group(cs, &a[i], CS_GRP_JUMP) || cs_insn_group(cs, &a[i], CS_GRP_CALL) ||
        cs_insn_group(cs, &a[i], CS_GRP_BRANCH_RELATIVE)) {
      ok = false;
      break;
    }
    for (uint8_t k = 0; ok && k < xa.op_count; ++k) {
      const cs_x86_op& oa = xa.operands[k];
      const cs_x86_op& ob = xb.operands[k];
      if (oa.type != ob.type || oa.size != ob.size) ok = false;
      else if (oa.type == X86_OP_IMM) {
        if (oa.imm != ob.imm) diffs.emplace_back(oa.imm, ob.imm);
      } else if (oa.type == X86_OP_REG) {
        ok = oa.reg == ob.reg;
      } else if (oa.type == X86_OP_MEM) {
        ok = oa.mem.segment == ob.mem.segment && oa.mem.base == ob.mem.base && oa.mem.index == ob.mem.index &&
             oa.mem.scale == ob.mem.scale && oa.mem.disp == ob.mem.disp;
      }
    }
  }
  if (ok) result = std::move(diffs);
  if (a) cs_free(a, na);
  if (b) cs_free(b, nb);
  cs_close(&cs);
  return result;
}

RegisterSet clobbered_registers(uint64_t entry, uint64_t size, const CodeSource& code) {
  ClobberAnalysis analysis(code);
  return analysis.run(entry, size);
}

}  // namespace hotpatch::arch

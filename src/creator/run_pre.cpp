#include "creator/run_pre.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "arch/instructions.h"
#include "common/paths.h"
#include "creator/dwarf_info.h"

namespace hotpatch::creator {

namespace {

constexpr size_t kMaxReported = 5;

int32_t le32(const std::vector<uint8_t>& b, size_t at) {
  int32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint64_t le64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

// The NUL-separated strings of a .comment section ("GCC: (Debian 12.2.0-14) 12.2.0").
std::set<std::string> comment_strings(const std::vector<uint8_t>& data) {
  std::set<std::string> out;
  std::string cur;
  for (uint8_t c : data) {
    if (c == 0) {
      if (!cur.empty()) out.insert(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(c);
    }
  }
  if (!cur.empty()) out.insert(cur);
  return out;
}

std::string join(const std::set<std::string>& s, const char* sep) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : sep) + x;
  return out;
}

// The words of `a` that `b` lacks.
std::set<std::string> words_only_in(const std::string& a, const std::string& b) {
  auto words = [](const std::string& s) {
    std::set<std::string> w;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string::npos) end = s.size();
      if (end > pos) w.insert(s.substr(pos, end - pos));
      pos = end + 1;
    }
    return w;
  };
  std::set<std::string> wa = words(a), wb = words(b), out;
  for (const auto& x : wa)
    if (!wb.count(x) && x != "-ffunction-sections" && x != "-fdata-sections") out.insert(x);  // ours
  return out;
}

class Matcher {
 public:
  Matcher(const Program& p) : p_(p), bin_(*p.binary) {
    for (const auto& r : bin_.dynamic_relocations())
      if (!r.symbol.empty()) slot_symbol_[r.offset] = r.symbol;
  }

  // nullopt if `o` (a function of unit `u`'s original object) is the program's.
  std::optional<std::string> mismatch(const Unit& u, const ObjSymbol& o) {
    const ElfSymbol* b = binary_symbol(u, o.name, o.bind == STB_LOCAL, true);
    if (!b) return "the program has no such function (its build inlined it or left it out)";
    auto bin = bin_.read_vaddr(b->value, b->size);
    auto span = bytes_of(u.orig, o);
    if (b->size != o.size) {
      std::string sizes = fmt::format("it is {} bytes in the program, {} rebuilt", b->size, o.size);
      if (!bin || span.size() != o.size) return sizes;
      if (auto problem = mismatch_by_instruction(u, o, *b, *bin, span)) return fmt::format("{}; {}", sizes, *problem);
      return std::nullopt;
    }
    if (!bin || span.size() != o.size) return std::nullopt;  // nothing to compare (not file-backed)
    auto problem = mismatch_byte_for_byte(u, o, *b, *bin, span);
    if (problem && !mismatch_by_instruction(u, o, *b, *bin, span)) return std::nullopt;
    return problem;
  }

  // The fast path: the same bytes at the same offsets, relocations resolved.
  std::optional<std::string> mismatch_byte_for_byte(const Unit& u, const ObjSymbol& o, const ElfSymbol& b,
                                                    const std::vector<uint8_t>& bin, std::span<const uint8_t> span) {
    std::vector<uint8_t> mb = bin, mo(span.begin(), span.end());
    CodeContext code = code_of(u.orig, o);
    for (const auto& r : relocations_in(u.orig, o.section, o.value, o.size)) {
      size_t k = r.offset - o.value, w = width_of(r.type);
      if (k + w > mb.size()) return fmt::format("a relocation at +{:#x} runs past its end", k);
      Target t = target_of(u.orig, r, code);
      std::vector<ptrdiff_t> also_masked;
      if (auto problem = check_reference(u, r, t, k, k, b.value + k, bin, mo, also_masked))
        return fmt::format("{} at +{:#x}", *problem, k);
      for (size_t i = k; i < k + w; ++i) mb[i] = mo[i] = 0;
      for (ptrdiff_t d : also_masked)
        if (k + d < mb.size()) mb[k + d] = mo[k + d] = 0;
    }
    for (size_t i = 0; i < mb.size(); ++i)
      if (mb[i] != mo[i]) return fmt::format("the code differs at +{:#x}", i);
    return std::nullopt;
  }

  // When the bytes differ: the same instructions one by one, where a relative jmp or
  // jcc may be the other length of the same branch (the assembler relaxes branches
  // per section and never shrinks one, so the program's one big .text and our one
  // section per function can encode a branch differently) if its destination is the
  // corresponding instruction, or the same place outside the function. Everything
  // else must be byte for byte the same, relocations resolved.
  std::optional<std::string> mismatch_by_instruction(const Unit& u, const ObjSymbol& o, const ElfSymbol& b,
                                                     const std::vector<uint8_t>& bin, std::span<const uint8_t> span) {
    auto ins = arch::decode_instructions(span);
    if (!ins) return std::string("the rebuilt code does not decode");
    auto relocs = relocations_in(u.orig, o.section, o.value, o.size);
    std::sort(relocs.begin(), relocs.end(), [](const auto& x, const auto& y) { return x.offset < y.offset; });
    const std::vector<uint8_t> mo(span.begin(), span.end());
    CodeContext code = code_of(u.orig, o);
    std::vector<uint64_t> at(ins->size() + 1);  // the program's offset of each instruction, and of the end
    struct Branch {
      size_t index;
      int64_t rebuilt_target, program_target;
    };
    std::vector<Branch> branches;
    uint64_t pb = 0;
    size_t ri = 0;
    // Alignment padding is compared as nothing: after a branch of the other length
    // the next aligned instruction is reached with a nop of another length.
    auto skip_program_padding = [&] {
      while (pb < bin.size()) {
        auto next = arch::decode_instructions(std::span<const uint8_t>(bin).subspan(pb), 1);
        if (!next || next->size() != 1 || !(*next)[0].padding) return;
        pb += (*next)[0].size;
      }
    };
    for (size_t i = 0; i < ins->size(); ++i) {
      const arch::Instruction& io = (*ins)[i];
      if (io.padding && std::none_of(relocs.begin(), relocs.end(), [&](const ObjRelocation& r) {
            return r.offset - o.value >= io.offset && r.offset - o.value < io.offset + io.size;
          })) {
        at[i] = pb;
        continue;
      }
      skip_program_padding();
      at[i] = pb;
      auto where = [&] { return fmt::format("instruction {} (+{:#x} rebuilt, +{:#x} in the program)", i, io.offset, pb); };
      std::vector<const ObjRelocation*> here;  // the relocations inside this instruction
      for (; ri < relocs.size() && relocs[ri].offset - o.value < io.offset + io.size; ++ri) here.push_back(&relocs[ri]);
      if (pb >= bin.size()) return fmt::format("the program's code ends before {}", where());
      if (io.branch != arch::Instruction::Branch::none) {
        auto decoded = arch::decode_instructions(std::span<const uint8_t>(bin).subspan(pb), 1);
        if (!decoded || decoded->size() != 1 || (*decoded)[0].branch != io.branch ||
            (*decoded)[0].condition != io.condition)
          return fmt::format("{} is another instruction", where());
        const arch::Instruction& ib = (*decoded)[0];
        if (here.empty()) {
          branches.push_back({i, io.target, static_cast<int64_t>(pb) + ib.target});
        } else {
          // A branch out of the function: a relocation fills exactly its 32-bit
          // displacement. Checked as if the program's branch had the rebuilt one's
          // encoding and ended where the program's ends: the same destination.
          const ObjRelocation& r = *here[0];
          size_t ko = r.offset - o.value, field = ko - io.offset;
          if (here.size() != 1 || !is_pc_relative(r.type) || width_of(r.type) != 4 || field + 4 != io.size)
            return fmt::format("{} is a branch this check does not follow", where());
          uint64_t end = b.value + pb + ib.size, destination = b.value + pb + ib.target;
          std::vector<uint8_t> as_rebuilt(mo.begin() + io.offset, mo.begin() + io.offset + io.size);
          int32_t displacement = static_cast<int32_t>(destination - end);
          std::memcpy(as_rebuilt.data() + field, &displacement, 4);
          std::vector<ptrdiff_t> unused;
          if (auto problem = check_reference(u, r, target_of(u.orig, r, code), field, ko, end - 4, as_rebuilt, mo, unused))
            return fmt::format("{}: {}", where(), *problem);
        }
        pb += ib.size;
        continue;
      }
      if (pb + io.size > bin.size()) return fmt::format("the program's code ends inside {}", where());
      std::vector<uint8_t> wb(bin.begin() + pb, bin.begin() + pb + io.size);
      std::vector<uint8_t> wo(mo.begin() + io.offset, mo.begin() + io.offset + io.size);
      for (const ObjRelocation* r : here) {
        size_t ko = r->offset - o.value, kw = ko - io.offset, w = width_of(r->type);
        if (kw + w > io.size) return fmt::format("a relocation at +{:#x} runs past its instruction", ko);
        std::vector<ptrdiff_t> also_masked;
        if (auto problem = check_reference(u, *r, target_of(u.orig, *r, code), pb + kw, ko, b.value + pb + kw, bin, mo,
                                           also_masked))
          return fmt::format("{}: {}", where(), *problem);
        for (size_t k = kw; k < kw + w; ++k) wb[k] = wo[k] = 0;
        for (ptrdiff_t d : also_masked)
          if (kw + d < io.size) wb[kw + d] = wo[kw + d] = 0;
      }
      if (wb != wo) return fmt::format("{} differs", where());
      pb += io.size;
    }
    skip_program_padding();
    at[ins->size()] = pb;
    if (pb != bin.size()) return fmt::format("the program's code goes on after the last instruction (+{:#x})", pb);
    for (const Branch& br : branches) {
      // The rebuilt destination as an instruction (or the function's end); the
      // program's branch must reach that same instruction in the program's layout.
      auto it = std::lower_bound(ins->begin(), ins->end(), br.rebuilt_target, [](const arch::Instruction& x, int64_t t) {
        return static_cast<int64_t>(x.offset) < t;
      });
      size_t j = it - ins->begin();
      bool found = it != ins->end() ? static_cast<int64_t>(it->offset) == br.rebuilt_target
                                    : br.rebuilt_target == static_cast<int64_t>(span.size());
      if (!found)
        return fmt::format("the branch of instruction {} goes outside the rebuilt function, or into an instruction, "
                           "without a relocation",
                           br.index);
      if (br.program_target != static_cast<int64_t>(at[j]))
        return fmt::format("the branch of instruction {} (+{:#x} rebuilt) reaches another instruction in the program",
                           br.index, (*ins)[br.index].offset);
    }
    return std::nullopt;
  }

  // Why the objects may differ from the program, from what the files say.
  std::string cause(const Unit& u) {
    auto it = causes_.find(u.number);
    if (it != causes_.end()) return it->second;
    std::string why;
    std::set<std::string> ours;
    for (const auto& s : u.orig.sections())
      if (s.name == ".comment") ours = comment_strings(s.data);
    std::set<std::string> theirs;
    if (auto sec = bin_.section(".comment")) theirs = comment_strings(sec->data);
    for (const auto& c : ours)
      if (!theirs.empty() && !theirs.count(c))
        why = fmt::format("another compiler: the objects were built by '{}', the program by '{}'", c, join(theirs, "', '"));
    if (why.empty()) {
      if (!binary_dwarf_tried_) {
        binary_dwarf_tried_ = true;
        binary_dwarf_ = DwarfInfo::open(bin_.path());
      }
      auto object_dwarf = DwarfInfo::open(u.orig.path());
      std::string file = base_name(u.file);
      auto theirs_p = binary_dwarf_ ? binary_dwarf_->producer_of(file) : std::nullopt;
      auto ours_p = object_dwarf ? object_dwarf->producer_of(file) : std::nullopt;
      auto only_theirs = theirs_p && ours_p ? words_only_in(*theirs_p, *ours_p) : std::set<std::string>{};
      auto only_ours = theirs_p && ours_p ? words_only_in(*ours_p, *theirs_p) : std::set<std::string>{};
      if (!only_theirs.empty() || !only_ours.empty())
        why = fmt::format("other compiler flags: the program's {} was built with '{}', the rebuilt one with '{}' "
                          "(the program's build: '{}')", file, join(only_theirs, " "), join(only_ours, " "), *theirs_p);
      else if (theirs_p && ours_p)
        // Only our own -ffunction-sections/-fdata-sections (or nothing) differ: they
        // move code between sections, which the comparison allows for.
        why = fmt::format("the program's {} was built with the same recorded compiler flags (apart from the Creator's "
                          "own -ffunction-sections -fdata-sections); ", file);
      else if (!theirs_p)
        why = fmt::format("the program has no debug information for {} to compare compiler flags with; ", file);
    }
    if (why.empty() || why.ends_with("; "))
      why += "the tree is not the one the program was built from (another version or configuration of the source, "
             "other compiler flags, or a stale --work cache)";
    causes_[u.number] = why;
    return why;
  }

 private:
  // The program's symbol for a symbol of unit `u`: a file-local one by its file.
  // A global of the object with hidden visibility (-fvisibility=hidden, a
  // library's internal functions) is local in the linked program: taken when it
  // is the program's only local definition of the name (the loader resolves the
  // name the same way; several are ambiguous there too).
  const ElfSymbol* binary_symbol(const Unit& u, const std::string& name, bool local, bool function) const {
    const ElfSymbol* only_local = nullptr;
    int locals = 0;
    for (const ElfSymbol* s : bin_.find_symbols(name)) {
      if (s->section_index == SHN_UNDEF) continue;
      if (function && s->type != STT_FUNC) continue;
      if (local != (s->bind == STB_LOCAL)) {
        if (!local && s->bind == STB_LOCAL && (!only_local || only_local->value != s->value)) {
          only_local = s;
          ++locals;
        }
        continue;
      }
      if (local && base_name(s->source_file) != base_name(u.file)) continue;
      return s;
    }
    return locals == 1 ? only_local : nullptr;
  }

  // Code at `x` that jumps through a GOT slot bound to `name` (a PLT entry).
  bool is_plt_entry_for(uint64_t x, const std::string& name) const {
    auto code = bin_.read_vaddr(x, 16);
    if (!code) return false;
    size_t i = 0;
    if ((*code)[0] == 0xf3 && (*code)[1] == 0x0f && (*code)[2] == 0x1e && (*code)[3] == 0xfa) i = 4;  // endbr64
    if ((*code)[i] == 0xf2) ++i;  // bnd
    if ((*code)[i] != 0xff || (*code)[i + 1] != 0x25) return false;
    uint64_t slot = x + i + 6 + static_cast<int64_t>(le32(*code, i + 2));
    auto it = slot_symbol_.find(slot);
    return it != slot_symbol_.end() && it->second == name;
  }

  // A GOT slot the dynamic linker fills with `name`'s address (`addr`, if known).
  bool is_got_slot_for(uint64_t g, const std::string& name, std::optional<uint64_t> addr) const {
    if (auto it = slot_symbol_.find(g); it != slot_symbol_.end()) return it->second == name;
    if (!addr) return false;
    if (auto v = bin_.relocated_pointer(g)) return *v == *addr;
    auto raw = bin_.read_vaddr(g, 8);  // a non-PIE program's GOT holds link-time addresses
    return raw && le64(*raw, 0) == *addr;
  }

  bool in_read_only_segment(uint64_t addr) const {
    for (const auto& seg : bin_.load_segments())
      if (addr >= seg.vaddr && addr < seg.vaddr + seg.memsz) return (seg.flags & PF_W) == 0;
    return false;
  }

  // Whether relocation `r` (field at bin[k] in the program's code, obj[ko] in the
  // object's; program address `place`) means in the program what it means in the
  // object; a description of the difference if not. `also_masked`: instruction
  // bytes the linker may rewrite (GOT relaxation), as offsets from the field.
  std::optional<std::string> check_reference(const Unit& u, const ObjRelocation& r, const Target& t, size_t k,
                                             size_t ko, uint64_t place, const std::vector<uint8_t>& bin,
                                             const std::vector<uint8_t>& obj, std::vector<ptrdiff_t>& also_masked) {
    std::string name;
    std::optional<uint64_t> addr;
    if (t.kind == Target::Symbol) {
      const ObjSymbol& s = u.orig.symbols()[t.index];
      name = s.name;
      const ElfSymbol* b = binary_symbol(u, s.name, s.bind == STB_LOCAL, false);
      if (!b) return fmt::format("it refers to '{}', which the program does not have", s.name);
      addr = b->value;
    } else if (t.kind == Target::External) {
      name = u.orig.symbols()[t.index].name;
      if (const ElfSymbol* b = binary_symbol(u, name, false, false)) addr = b->value;
    }
    const uint64_t field32 = static_cast<uint64_t>(static_cast<int64_t>(le32(bin, k)));
    if (is_pc_relative(r.type)) {
      uint64_t have = place + field32;  // S + A in the program
      if (t.kind == Target::Section) {
        if (!in_read_only_segment(have + t.tail)) return std::string("it refers to unnamed data the program keeps elsewhere");
        return constant_mismatch(u, t, have + t.tail);
      }
      if (addr && have == *addr + t.delta) return std::nullopt;
      if (is_plt_entry_for(have - t.delta, name)) return std::nullopt;
      return fmt::format("it refers to '{}', but the program's code reaches another address", name);
    }
    if (is_got_relative(r.type)) {
      if (t.kind == Target::Section) return std::nullopt;
      uint64_t g = place + field32 - r.addend;
      if (is_got_slot_for(g, name, addr)) return std::nullopt;
      if (addr && k >= 2 && ko >= 2) {
        // ld's relaxations of a GOT load of a symbol it resolved: mov -> lea,
        // call/jmp *slot -> a direct call/jmp, or (non-PIE) an immediate operand.
        uint8_t o1 = obj[ko - 2], o2 = obj[ko - 1], b1 = bin[k - 2], b2 = bin[k - 1];
        bool relaxed = false;
        if (o1 == 0x8b && b1 == 0x8d && g == *addr) {
          relaxed = true, also_masked = {-2};
        } else if (o1 == 0xff && o2 == 0x15 && b1 == 0x67 && b2 == 0xe8 && g == *addr) {
          relaxed = true, also_masked = {-2, -1};
        } else if (o1 == 0xff && o2 == 0x25 && b1 == 0xe9 && k + 4 <= bin.size() && bin[k + 3] == 0x90 &&
                   place - 2 + 5 + static_cast<int64_t>(le32(bin, k - 1)) == *addr) {
          relaxed = true, also_masked = {-2, -1, 0, 1, 2, 3};
        } else if ((b1 == 0xc7 || b1 == 0xf7 || b1 == 0x81) && static_cast<uint32_t>(field32) == *addr) {
          relaxed = true, also_masked = {-2, -1};
          if (k >= 3 && ko >= 3) also_masked.push_back(-3);  // the REX prefix: the register moves from R to B
        }
        if (relaxed) return std::nullopt;
      }
      return fmt::format("it loads the address of '{}', but the program's code loads another", name);
    }
    if (is_absolute32(r.type)) {
      if (t.kind == Target::Section) return std::nullopt;
      uint64_t v = r.type == R_X86_64_32 ? static_cast<uint32_t>(field32) : field32;
      if (addr && v == *addr + t.delta) return std::nullopt;
      return fmt::format("it refers to '{}', but the program's code to another address", name);
    }
    if (r.type == R_X86_64_64) {
      if (t.kind == Target::Section) return std::nullopt;
      uint64_t v = bin_.relocated_pointer(place).value_or(le64(bin, k));
      if (addr && v == *addr + t.delta) return std::nullopt;
      return fmt::format("it holds the address of '{}', but the program's code another", name);
    }
    return std::nullopt;  // TLS and others: the field is masked, the rest compared
  }

  // A pooled constant (.rodata.cst8...) must hold the same value in the program.
  std::optional<std::string> constant_mismatch(const Unit& u, const Target& t, uint64_t used) const {
    const ObjSection& sec = u.orig.sections()[t.index];
    if (!(sec.flags & SHF_MERGE) || (sec.flags & SHF_STRINGS) || !sec.name.starts_with(".rodata.cst")) return std::nullopt;
    size_t entry = std::strtoul(sec.name.c_str() + 11, nullptr, 10);
    uint64_t off = static_cast<uint64_t>(t.delta + t.tail);
    if (entry == 0 || off + entry > sec.data.size()) return std::nullopt;
    auto theirs = bin_.read_vaddr(used, entry);
    if (!theirs || !std::equal(theirs->begin(), theirs->end(), sec.data.begin() + off))
      return std::string("a constant it uses has another value in the program");
    return std::nullopt;
  }

  const Program& p_;
  const ElfImage& bin_;
  std::unordered_map<uint64_t, std::string> slot_symbol_;  // GOT slot -> the symbol it is bound to
  std::map<uint32_t, std::string> causes_;
  bool binary_dwarf_tried_ = false;
  std::unique_ptr<DwarfInfo> binary_dwarf_;
};

}  // namespace

std::vector<std::string> match_running_program(const Program& p, const Correlation& c, const Plan& plan) {
  if (!p.binary) return {};
  // The originals of what the patch carries, and the functions they call directly.
  std::set<std::pair<uint32_t, uint32_t>> checked;  // unit, original symbol
  for (SymRef f : plan.included) {
    auto twin = c.twin_of(f);
    if (!twin) continue;
    const Unit& u = p.unit(f.unit);
    checked.insert({f.unit, *twin});
    const ObjSymbol& o = u.orig.symbols()[*twin];
    CodeContext code = code_of(u.orig, o);
    for (const auto& r : relocations_in(u.orig, o.section, o.value, o.size)) {
      if (!is_pc_relative(r.type)) continue;
      Target t = target_of(u.orig, r, code);
      if (t.kind == Target::Symbol && is_defined_function(u.orig.symbols()[t.index])) checked.insert({f.unit, t.index});
    }
  }
  Matcher m(p);
  std::vector<std::string> out;
  size_t more = 0;
  for (const auto& [unit, index] : checked) {
    const Unit& u = p.unit(unit);
    const ObjSymbol& o = u.orig.symbols()[index];
    auto problem = m.mismatch(u, o);
    if (!problem) continue;
    if (out.size() == kMaxReported) {
      ++more;
      continue;
    }
    out.push_back(fmt::format("{}: the rebuilt original does not match the running program ({}); likely cause: {}; "
                              "give --src the tree and --build the command that built the running program",
                              u.where(o), *problem, m.cause(u)));
  }
  if (more) out.push_back(fmt::format("... and {} more functions that do not match the running program", more));
  return out;
}

}  // namespace hotpatch::creator

#include "creator/emit.h"

#include <elf.h>

#include <map>
#include <set>
#include <span>

#include <fmt/format.h>
#include <hotpatch/patch.h>

#include "arch/arch.h"
#include "common/error.h"

namespace hotpatch::creator {

namespace {

// Collects the assembly text, and the records that go into .hotpatch.
class AsmWriter {
 public:
  std::string text;
  size_t next_label = 0;
  size_t unwind_entries = 0;  // FDEs written to .eh_frame

  std::string fresh(const std::string& what) { return fmt::format(".Lhp_{}{}", what, next_label++); }
  void line(const std::string& s) { text += s + "\n"; }
  void bytes(std::span<const uint8_t> b) {
    for (size_t i = 0; i < b.size(); i += 16) {
      std::string l = "\t.byte ";
      for (size_t k = i; k < b.size() && k < i + 16; ++k) l += fmt::format("{}{:#04x}", k == i ? "" : ",", b[k]);
      line(l);
    }
  }
  void record(uint16_t kind, const std::string& name, const std::string& addr_expr, uint64_t reserved = 0) {
    records_ += "\t.balign 8\n";
    records_ += fmt::format("\t.long {:#x}\n\t.short {}, {}\n", HOTPATCH_RECORD_MAGIC, HOTPATCH_FORMAT_VERSION, kind);
    records_ += fmt::format("\t.quad {}\n\t.quad {}\n", string_label(name), addr_expr.empty() ? "0" : addr_expr);
    records_ += fmt::format("\t.quad {:#x}\n", reserved);
  }

  std::string finish() {
    std::string out = text;
    // The unwinder reads registered tables up to a zero length: crtend.o's job in
    // ordinary links, but patches are linked without start files, and ld drops a
    // terminator it finds in .eh_frame itself. Its default script places
    // .eh_frame.* input sections after all of .eh_frame, unparsed.
    if (unwind_entries) out += "\t.section .eh_frame.hotpatch_end,\"a\",@progbits\n\t.long 0\n";
    out += "\t.section .hotpatch,\"aw\",@progbits\n" + records_;
    out += "\t.section .rodata.hotpatch_strings,\"a\",@progbits\n";
    for (const auto& [s, label] : strings_) {
      std::string escaped;
      for (char c : s) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
      }
      out += fmt::format("{}:\n\t.asciz \"{}\"\n", label, escaped);
    }
    out += "\t.section .note.GNU-stack,\"\",@progbits\n";
    return out;
  }

 private:
  std::string string_label(const std::string& s) {
    auto [it, fresh_one] = strings_.emplace(s, "");
    if (fresh_one) it->second = fresh("str");
    return it->second;
  }
  std::string records_;
  std::map<std::string, std::string> strings_;
};

int log2_of(uint64_t a) {
  int n = 0;
  while ((uint64_t{1} << n) < a) ++n;
  return n;
}

class Emitter {
 public:
  Emitter(const Program& p, const Correlation& c, const Plan& plan) : p_(p), c_(c), plan_(plan) {
    // Labels for everything the patch carries, so references find each other
    // across units.
    std::map<std::string, int> uses;
    for (SymRef f : plan_.included) ++uses[p_.sym(f).name];
    for (SymRef f : plan_.included) {
      const std::string& name = p_.sym(f).name;
      labels_[f] = uses[name] > 1 ? fmt::format("{}.hotpatch.{}", name, f.unit) : name + ".hotpatch";
    }
    // Named (not .L) so that they stay in the patch's symbol table: a non-PIE
    // reference to them is filled in by the loader ("hotpatch.self:" records).
    for (SymRef d : plan_.carried_data) labels_[d] = fmt::format("hotpatch.data.{}.{}", d.unit, d.index);
  }

  std::string run(const PatchIdentity& id) {
    w_.line("\t.text");
    w_.record(HOTPATCH_KIND_ID, id.id, "");
    if (!id.description.empty()) w_.record(HOTPATCH_KIND_DESCRIPTION, id.description, "");
    if (!id.build_id.empty()) w_.record(HOTPATCH_KIND_BUILD_ID, id.build_id, "");
    if (!id.object.empty()) w_.record(HOTPATCH_KIND_OBJECT, id.object, "");
    w_.record(HOTPATCH_KIND_LINK_NEAR, "near", "");

    for (SymRef f : plan_.included) emit_function(f);
    for (SymRef d : plan_.carried_data) emit_data(d);
    for (SecRef s : plan_.carried_sections) emit_section(s);
    for (const auto& [unit, frames] : plan_.frames) emit_frames(unit, frames);
    emit_slots();
    return w_.finish();
  }

 private:
  std::string section_label(SecRef s) const { return fmt::format("hotpatch.sec.{}.{}", s.unit, s.index); }

  // The target inside the patch, if it is there. The entry of a function the patch
  // replaces is the program's, not the copy (kpatch's rule): a call through it
  // reaches the newest code (a later patch's too), and an address taken of it
  // (`ev->handler = on_event`) stays valid after a revert unloads the patch. Only
  // the unwind tables (`own_code`) and references into the body (a jump table)
  // mean the copy itself.
  std::string local_of(uint32_t unit, const Target& t, bool own_code = false) const {
    if (t.kind == Target::Section)
      return plan_.carried_sections.count({unit, t.index}) ? section_label({unit, t.index}) : "";
    auto def = c_.definition(p_, unit, t);
    if (!def) return "";
    if (!own_code && plan_.redirected.count(*def) && t.delta + t.tail == 0) return "";
    auto it = labels_.find(*def);
    return it == labels_.end() ? "" : it->second;
  }

  // The program's name for a target outside the patch.
  std::string binary_name(uint32_t unit, const Target& t) const {
    if (t.kind == Target::Section) return "";
    if (t.kind == Target::External) return p_.unit(unit).patched.symbols()[t.index].name;
    return c_.binary_name(p_, {unit, t.index});
  }

  bool defined_in_binary(const std::string& name) const {
    auto sep = name.find("::");
    std::string plain = sep == std::string::npos ? name : name.substr(sep + 2);
    for (const ElfSymbol* s : p_.binary->find_symbols(plain))
      if (s->section_index != SHN_UNDEF) return true;
    return false;
  }

  std::string slot_for(const std::string& symbol) {
    auto [it, fresh] = got_.emplace(symbol, "");
    if (fresh) it->second = w_.fresh("got");
    return it->second;
  }

  // Emits [start, start+size) of `section` of unit `unit` with its relocations re-expressed.
  void emit_range(uint32_t unit, uint32_t section, uint64_t start, uint64_t size, bool code, bool frames = false) {
    const Unit& u = p_.unit(unit);
    const ObjSection& sec = u.patched.sections()[section];
    auto relocs = relocations_in(u.patched, section, start, size);
    CodeContext ctx;
    if (code) ctx = std::make_pair(start, std::span<const uint8_t>(sec.data).subspan(start, size));
    // The compiler may take the address of a library's variable PC-relatively (a
    // PIE expects a copy relocation); the patch cannot reach the library, so the
    // `lea` becomes a load of the address from a slot of the patch's own.
    std::vector<uint8_t> rewritten(sec.data);
    std::set<uint64_t> through_slot;
    for (const auto& r : relocs) {
      if (!code || r.type != R_X86_64_PC32) continue;
      Target t = target_of(u.patched, r, ctx);
      bool named = t.kind == Target::Symbol || t.kind == Target::External;
      if (!named || t.delta + t.tail != 0 /* not the symbol's own address */ || !local_of(unit, t).empty() ||
          defined_in_binary(binary_name(unit, t)))
        continue;
      if (arch::rip_lea_to_slot_load(rewritten, r.offset)) through_slot.insert(r.offset);
    }
    std::span<const uint8_t> all(rewritten);
    uint64_t at = start;
    for (const auto& r : relocs) {
      if (r.offset < at) continue;  // overlapping relocations: keep the first
      if (sec.type != SHT_NOBITS) w_.bytes(all.subspan(at, r.offset - at));
      Target t = target_of(u.patched, r, ctx);
      std::string local = local_of(unit, t, frames);
      std::string place = w_.fresh("place");
      w_.line(place + ":");
      const char* dir = width_of(r.type) == 8 ? ".quad" : ".long";
      auto program_string = t.kind == Target::Section
                                ? plan_.program_strings.find({unit, t.index, static_cast<uint64_t>(t.delta + t.tail)})
                                : plan_.program_strings.end();
      if (program_string != plan_.program_strings.end()) {
        // The program's own copy of the literal, addressed from its anchor symbol.
        int64_t addend = static_cast<int64_t>(program_string->second) - t.tail - static_cast<int64_t>(plan_.anchor_address);
        w_.line(fmt::format("\t{} 0", dir));
        w_.record(HOTPATCH_KIND_TARGET_RELOC, plan_.anchor, place,
                  uint64_t{r.type} | (uint64_t{static_cast<uint32_t>(static_cast<int32_t>(addend))} << 32));
      } else if (is_tls(r.type)) {
        w_.line(fmt::format("\t{} 0", dir));  // refused by verify()
      } else if (is_got_relative(r.type)) {
        std::string target = !local.empty() ? local + fmt::format("{:+}", t.delta) : binary_name(unit, t);
        std::string slot = slot_for(target);
        w_.line(fmt::format("\t.long {} + ({}) - .", slot, r.addend));
        if (!local.empty()) local_slots_.insert(target);
      } else if (!local.empty()) {
        if (is_pc_relative(r.type)) w_.line(fmt::format("\t.long {} + ({}) - .", local, t.delta));
        else if (r.type == R_X86_64_64) w_.line(fmt::format("\t.quad {} + ({})", local, t.delta));
        else if (r.type == R_X86_64_PC64) w_.line(fmt::format("\t.quad {} + ({}) - .", local, t.delta));
        else if (is_absolute32(r.type)) {
          // Non-PIE code (`mov $string, %edi`): no relocation of a shared object can
          // hold a 32-bit absolute address; the loader fills it in (verify() made
          // sure the program is linked low enough for the value to fit).
          w_.line("\t.long 0");
          w_.record(HOTPATCH_KIND_TARGET_RELOC, "hotpatch.self:" + local, place,
                    uint64_t{r.type} | (uint64_t{static_cast<uint32_t>(static_cast<int32_t>(t.delta))} << 32));
        } else
          throw Error(ErrorKind::DoesNotFit, fmt::format("{}: relocation type {} to code or data of the patch is not "
                                                         "supported", u.relpath, r.type));
      } else {
        std::string name = binary_name(unit, t);
        if (name.empty())
          throw Error(ErrorKind::DoesNotFit, fmt::format("{}: reference to unnamed data in {} cannot be resolved in the "
                                                         "binary", u.relpath, u.patched.sections()[t.index].name));
        bool in_binary = defined_in_binary(name);
        if (!in_binary && r.type == R_X86_64_PLT32) {
          // A library function: call it through a stub and a slot of our own.
          auto [it, fresh] = plt_.emplace(name, "");
          if (fresh) it->second = w_.fresh("plt");
          w_.line(fmt::format("\t.long {} + ({}) - .", it->second, t.delta));
        } else if (through_slot.count(r.offset)) {
          w_.line(fmt::format("\t.long {} + ({}) - .", slot_for(name), r.addend));
        } else if (!in_binary && r.type == R_X86_64_PC32) {
          throw Error(ErrorKind::DoesNotFit, fmt::format("{}: refers to '{}' PC-relatively, but the program does not "
                                                         "define it", u.relpath, name));
        } else {
          w_.line(fmt::format("\t{} 0", dir));
          w_.record(HOTPATCH_KIND_TARGET_RELOC, name, place,
                    uint64_t{r.type} | (uint64_t{static_cast<uint32_t>(static_cast<int32_t>(t.delta))} << 32));
        }
      }
      at = r.offset + width_of(r.type);
    }
    if (sec.type == SHT_NOBITS) w_.line(fmt::format("\t.zero {}", start + size - at));
    else if (at < start + size) w_.bytes(all.subspan(at, start + size - at));
  }

  void emit_function(SymRef f) {
    const Unit& u = p_.unit(f.unit);
    const ObjSymbol& s = p_.sym(f);
    const std::string& label = labels_.at(f);
    w_.line(fmt::format("\t.section .text.hotpatch.{}.{},\"ax\",@progbits", f.unit, f.index));
    w_.line(fmt::format("\t.p2align {}", log2_of(u.patched.sections()[s.section].align)));
    w_.line(fmt::format("\t.type {}, @function", label));
    w_.line(label + ":");
    emit_range(f.unit, s.section, s.value, s.size, true);
    w_.line(fmt::format("\t.size {}, . - {}", label, label));
    // The program names the function as the original object did; a local one is
    // qualified with its source file, since several files may have one.
    if (plan_.redirected.count(f)) w_.record(HOTPATCH_KIND_REPLACE, c_.binary_name(p_, f), label);
  }

  void emit_data(SymRef d) {
    const Unit& u = p_.unit(d.unit);
    const ObjSymbol& s = p_.sym(d);
    const ObjSection& sec = u.patched.sections()[s.section];
    w_.line(fmt::format("\t.section {}.hotpatch.{}.{},\"a{}\",{}", sec.is_writable() ? ".data" : ".rodata", d.unit, d.index,
                        sec.is_writable() ? "w" : "", sec.type == SHT_NOBITS ? "@nobits" : "@progbits"));
    w_.line(fmt::format("\t.p2align {}", log2_of(sec.align)));
    w_.line(labels_.at(d) + ":");
    emit_range(d.unit, s.section, s.value, s.size, false);
  }

  void emit_section(SecRef s) {
    const ObjSection& sec = p_.unit(s.unit).patched.sections()[s.index];
    w_.line(fmt::format("\t.section .rodata.hotpatch.{}.s{},\"a\",@progbits", s.unit, s.index));
    w_.line(fmt::format("\t.p2align {}", log2_of(sec.align)));
    w_.line(section_label(s) + ":");
    emit_range(s.unit, s.index, 0, sec.size, false);
  }

  // Unwind entries byte for byte, references re-expressed like the code's; only an
  // FDE's pointer to its CIE, an offset within the section, is recomputed.
  void emit_frames(uint32_t unit, const Plan::Frames& frames) {
    if (frames.entries.empty()) return;
    auto cie_label = [&](uint64_t offset) { return fmt::format(".Lhp_cie{}_{}", unit, offset); };
    std::span<const uint8_t> eh(p_.unit(unit).patched.sections()[frames.section].data);
    w_.line("\t.section .eh_frame,\"a\",@unwind");
    for (const auto& e : frames.entries) {
      if (e.is_cie) {
        w_.line(cie_label(e.offset) + ":");
        emit_range(unit, frames.section, e.offset, e.size, false, true);
        continue;
      }
      w_.bytes(eh.subspan(e.offset, 4));
      std::string pointer = w_.fresh("cie_pointer");
      w_.line(pointer + ":");
      w_.line(fmt::format("\t.long {} - {}", pointer, cie_label(e.cie_offset)));
      emit_range(unit, frames.section, e.offset + 8, e.size - 8, false, true);
      ++w_.unwind_entries;
    }
  }

  // Library functions and addresses taken through the GOT: slots filled at apply
  // time (or, for the patch's own code and data, at link time).
  void emit_slots() {
    w_.line("\t.section .text.hotpatch.plt,\"ax\",@progbits");
    for (const auto& [name, stub] : plt_) {
      std::string slot = slot_for(name);
      w_.line("\t.p2align 3");
      w_.line(stub + ":");
      w_.line(fmt::format("\tjmp *{}(%rip)", slot));
    }
    w_.line("\t.section .data.hotpatch.got,\"aw\",@progbits");
    w_.line("\t.p2align 3");
    for (const auto& [target, slot] : got_) {
      w_.line(slot + ":");
      if (local_slots_.count(target)) {
        w_.line(fmt::format("\t.quad {}", target));
      } else {
        w_.line("\t.quad 0");
        w_.record(HOTPATCH_KIND_TARGET_RELOC, target, slot, R_X86_64_64);
      }
    }
  }

  const Program& p_;
  const Correlation& c_;
  const Plan& plan_;
  AsmWriter w_;
  std::map<SymRef, std::string> labels_;
  std::map<std::string, std::string> plt_, got_;  // external symbol -> stub / slot label
  std::set<std::string> local_slots_;             // got_ keys that are the patch's own labels
};

}  // namespace

std::string emit_assembly(const Program& program, const Correlation& correlation, const Plan& plan,
                          const PatchIdentity& identity) {
  return Emitter(program, correlation, plan).run(identity);
}

}  // namespace hotpatch::creator

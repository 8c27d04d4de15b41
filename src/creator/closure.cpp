#include "creator/closure.h"

#include <elf.h>

#include <cstring>
#include <string_view>

#include "arch/arch.h"
#include "common/paths.h"

namespace hotpatch::creator {

namespace {

class Closure {
 public:
  Closure(Program& p, Correlation& c, const Changes& changes) : p_(p), c_(c), changes_(changes) {}

  Plan run() {
    std::set<SymRef> changed;
    for (SymRef f : changes_.changed) mark_changed(changed, f);
    // A changed constant is carried, and every function that reads it must read the
    // new one: it is redirected too, changed or not.
    for (SymRef k : changes_.changed_constants) {
      plan_.carried_data.insert(k);
      for (SymRef reader : readers_of(k))
        if (mark_changed(changed, reader) && !changes_.changed.count(reader))
          plan_.why[reader] = "reads the changed constant '" + p_.sym(k).name + "'";
      pointers_to(k);
    }
    // A changed function too short for a jump (a 4-byte constprop clone, say) cannot
    // be redirected: its callers change instead, to call the new copy. That is only
    // complete when every caller is known, i.e. when it is file-local.
    for (bool grew = true; grew;) {
      grew = false;
      for (SymRef f : std::set<SymRef>(changed)) {
        if (plan_.unredirectable.count(f) || c_.is_new(f)) continue;
        const Unit& u = p_.unit(f.unit);
        auto size = function_size_in_binary(p_, u, p_.sym(f));
        if (!size || *size >= arch::kNearJumpSize + 4 /* room for endbr64 too */) continue;
        if (p_.sym(f).bind != STB_LOCAL) {
          plan_.too_short.insert(f);
          plan_.size_in_binary[f] = *size;
          changed.erase(f);
          continue;
        }
        plan_.unredirectable.insert(f);
        for (SymRef caller : readers_of(f)) grew |= mark_changed(changed, caller);
      }
    }
    for (SymRef f : changed)
      if (!plan_.unredirectable.count(f)) plan_.redirected.insert(f);
    for (SymRef f : changed) need_function(f);
    drain();
    collect_frames();
    drain();
    return std::move(plan_);
  }

 private:
  // Adds `f` to the changed set, as its hot part when it is a .cold part; start-up
  // code is set aside for verify(). True if the set grew.
  bool mark_changed(std::set<SymRef>& changed, SymRef f) {
    const Unit& u = p_.unit(f.unit);
    const auto& syms = u.syms();
    if (syms[f.index].name.find(".cold") != std::string::npos) {
      for (uint32_t i = 0; i < syms.size(); ++i) {
        if (i != f.index && is_defined_function(syms[i]) && is_cold_part_of(syms[f.index].name, syms[i].name)) {
          f = {f.unit, i};
          break;
        }
      }
    }
    if (is_startup(u, syms[f.index])) {
      plan_.startup.insert(f);
      return false;
    }
    return changed.insert(f).second;
  }

  // Whether `t`, in another unit than the global `name`'s definition, means it: an
  // undefined reference, or that unit's own copy of a symbol of vague linkage.
  static bool refers_by_name(const Unit& u, const Target& t, const std::string& name) {
    if (t.kind != Target::External && t.kind != Target::Symbol) return false;
    const ObjSymbol& s = u.syms()[t.index];
    return (t.kind == Target::External || s.bind != STB_LOCAL) && s.name == name;
  }

  // The functions of the program that refer to `target`: in its own unit by symbol,
  // in other units by name when it is global (loading the unchanged units then).
  std::vector<SymRef> readers_of(SymRef target) {
    const ObjSymbol& ts = p_.sym(target);
    bool global = ts.bind != STB_LOCAL;
    if (global && !p_.unchanged_loaded) correlate_units(p_, c_, p_.load_unchanged());
    std::vector<SymRef> readers;
    for (const auto& up : p_.units) {
      const Unit& u = *up;
      if (u.number != target.unit && !global) continue;
      const auto& syms = u.syms();
      for (uint32_t i = 0; i < syms.size(); ++i) {
        if (!is_defined_function(syms[i])) continue;
        CodeContext code = code_of(u.patched, syms[i]);
        for (const auto& r : relocations_in(u.patched, syms[i].section, syms[i].value, syms[i].size)) {
          Target t = target_of(u.patched, r, code);
          bool hit = u.number == target.unit ? t.kind == Target::Symbol && t.index == target.index
                                             : refers_by_name(u, t, ts.name);
          if (hit) {
            readers.push_back({u.number, i});
            break;
          }
        }
      }
    }
    return readers;
  }

  // Data that holds the address of constant `k` (a pointer to a table): what
  // reads through it would keep reading the old copy. Refused by verify() unless
  // that data is carried too (itself a changed constant, or new).
  void pointers_to(SymRef k) {
    const ObjSymbol& ks = p_.sym(k);
    bool global = ks.bind != STB_LOCAL;
    for (const auto& up : p_.units) {
      const Unit& u = *up;
      if (u.number != k.unit && !global) continue;
      const auto& sections = u.patched.sections();
      for (uint32_t sec = 0; sec < sections.size(); ++sec) {
        const ObjSection& s = sections[sec];
        if (!s.is_allocated() || s.is_code() || s.name.starts_with(".eh_frame") || s.name.starts_with(".gcc_except_table"))
          continue;
        for (const auto& r : u.patched.relocations(sec)) {
          Target t = target_of(u.patched, r, std::nullopt);
          bool hit = u.number == k.unit ? t.kind == Target::Symbol && t.index == k.index : refers_by_name(u, t, ks.name);
          if (!hit) continue;
          Plan::DataReference ref{k, std::nullopt, ""};
          if (const ObjSymbol* holder = u.patched.symbol_covering(sec, r.offset))
            ref.from = SymRef{u.number, static_cast<uint32_t>(holder - u.syms().data())};
          else
            ref.from_section = u.relpath + ": " + s.name;
          plan_.constants_pointed_to.push_back(ref);
        }
      }
    }
  }

  void need_function(SymRef f) {
    if (plan_.included.insert(f).second) work_.push_back({Item::Function, f});
  }
  void need_data(SymRef d) {
    if (plan_.carried_data.insert(d).second) work_.push_back({Item::Data, d});
  }
  void need_section(SecRef s) {
    if (plan_.carried_sections.insert(s).second) work_.push_back({Item::Section, {s.unit, s.index}});
  }

  // What a reference from carried code or data needs: a new function or variable
  // (in whichever unit defines it), an indirection cell, unnamed read-only data
  // (a string literal the program has is used where it is).
  void need(uint32_t unit, const Target& t) {
    const Unit& u = p_.unit(unit);
    if (t.kind == Target::Section) {
      const ObjSection& sec = u.patched.sections()[t.index];
      if (sec.is_writable() || sec.is_code() || !sec.is_allocated()) return;  // refused by verify()
      if (!(sec.flags & SHF_STRINGS) || !use_programs_string(unit, sec, t)) need_section({unit, t.index});
      return;
    }
    auto def = c_.definition(p_, unit, t);
    if (!def) return;  // the program's or a library's
    const ObjSymbol& s = p_.sym(*def);
    if (s.type == STT_FUNC && c_.is_new(*def) && !c_.ambiguous[def->unit].count(def->index)) need_function(*def);
    if (s.type == STT_OBJECT && ((c_.is_new(*def) && !c_.ambiguous[def->unit].count(def->index)) ||
                                 is_indirection_cell(s.name)))
      need_data(*def);
  }

  void drain() {
    while (!work_.empty()) {
      Item item = work_.back();
      work_.pop_back();
      const Unit& u = p_.unit(item.ref.unit);
      const auto& syms = u.syms();
      if (item.kind == Item::Function) {
        const ObjSymbol& fs = syms[item.ref.index];
        for (uint32_t i = 0; i < syms.size(); ++i) {  // hot and cold parts travel together
          if (i == item.ref.index || !is_defined_function(syms[i])) continue;
          if (is_cold_part_of(syms[i].name, fs.name) || is_cold_part_of(fs.name, syms[i].name)) need_function({u.number, i});
        }
        CodeContext code = code_of(u.patched, fs);
        for (const auto& r : relocations_in(u.patched, fs.section, fs.value, fs.size))
          if (!is_tls(r.type)) need(u.number, target_of(u.patched, r, code));
      } else if (item.kind == Item::Data) {
        const ObjSymbol& ds = syms[item.ref.index];
        for (const auto& r : relocations_in(u.patched, ds.section, ds.value, ds.size))
          need(u.number, target_of(u.patched, r, std::nullopt));
      } else {
        for (const auto& r : u.patched.relocations(item.ref.index)) need(u.number, target_of(u.patched, r, std::nullopt));
      }
    }
  }

  // The unwind entries of the included functions (FDE, its CIE, the catch tables
  // it points to), so that exceptions can be thrown in and through patched code.
  void collect_frames() {
    std::map<uint32_t, std::set<uint32_t>> by_unit;
    for (SymRef f : plan_.included) by_unit[f.unit].insert(f.index);
    for (const auto& [n, functions] : by_unit) {
      const Unit& u = p_.unit(n);
      uint32_t eh = 0;
      for (uint32_t i = 0; i < u.patched.sections().size(); ++i)
        if (u.patched.sections()[i].name == ".eh_frame") eh = i;
      if (!eh) continue;
      auto entries = parse_unwind_table(u.patched.sections()[eh].data, u.relpath).entries;
      std::set<uint64_t> kept;  // offsets of the entries to copy
      for (const auto& e : entries) {
        if (e.is_cie) continue;
        for (const auto& r : relocations_in(u.patched, eh, e.offset + 8, 4)) {  // pc_begin
          Target t = target_of(u.patched, r, std::nullopt);
          if (t.kind == Target::Symbol && functions.count(t.index)) {
            kept.insert(e.offset);
            kept.insert(e.cie_offset);
          }
        }
      }
      Plan::Frames& frames = plan_.frames[n];
      frames.section = eh;
      for (const auto& e : entries) {
        if (!kept.count(e.offset)) continue;
        frames.entries.push_back(e);
        for (const auto& r : relocations_in(u.patched, eh, e.offset, e.size)) {
          Target t = target_of(u.patched, r, std::nullopt);
          if (t.kind == Target::Symbol && p_.sym({n, t.index}).type == STT_FUNC) continue;  // pc_begin
          need(n, t);
        }
      }
    }
  }

  // If the program's read-only data holds the NUL-terminated string `t` uses,
  // records where (Plan::program_strings) and returns true.
  bool use_programs_string(uint32_t unit, const ObjSection& sec, const Target& t) {
    uint64_t used = static_cast<uint64_t>(t.delta + t.tail);
    if (!p_.binary || used >= sec.data.size()) return false;
    auto key = std::make_tuple(unit, t.index, used);
    if (plan_.program_strings.count(key)) return true;
    const uint8_t* begin = sec.data.data() + used;
    const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(begin, 0, sec.data.size() - used));
    if (!nul || !anchor()) return false;
    std::string_view needle(reinterpret_cast<const char*>(begin), nul - begin + 1);
    for (const auto& [vaddr, bytes] : read_only_segments()) {
      auto at = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()).find(needle);
      if (at == std::string_view::npos) continue;
      int64_t addend = static_cast<int64_t>(vaddr + at) - t.tail - static_cast<int64_t>(plan_.anchor_address);
      if (addend != static_cast<int32_t>(addend)) return false;
      plan_.program_strings[key] = vaddr + at;
      return true;
    }
    return false;
  }

  // The program's read-only, non-executable segments (where its literals are).
  const std::vector<std::pair<uint64_t, std::vector<uint8_t>>>& read_only_segments() {
    if (!segments_read_) {
      segments_read_ = true;
      for (const auto& seg : p_.binary->load_segments())
        if (!(seg.flags & (PF_W | PF_X)) && seg.filesz)
          if (auto bytes = p_.binary->read_vaddr(seg.vaddr, seg.filesz)) segments_.emplace_back(seg.vaddr, std::move(*bytes));
    }
    return segments_;
  }

  // A symbol the loader finds in the program by name, to address its literals
  // from: a global function or variable of the program whose name is unique (one
  // of the program's own, not a reserved `_name` of the toolchain, if it can).
  bool anchor() {
    if (!plan_.anchor.empty()) return true;
    for (bool reserved_too : {false, true}) {
      for (const ElfSymbol& s : p_.binary->symbols()) {
        if (s.section_index == SHN_UNDEF || s.bind != STB_GLOBAL || (s.type != STT_FUNC && s.type != STT_OBJECT) ||
            s.name.empty() || (s.name[0] == '_' && !reserved_too) || s.name.find('@') != std::string::npos ||
            p_.binary->find_symbols(s.name).size() != 1)
          continue;
        plan_.anchor = s.name;
        plan_.anchor_address = s.value;
        return true;
      }
    }
    return false;
  }

  struct Item {
    enum Kind { Function, Data, Section } kind;
    SymRef ref;
  };
  Program& p_;
  Correlation& c_;
  const Changes& changes_;
  Plan plan_;
  std::vector<Item> work_;
  bool segments_read_ = false;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> segments_;
};

}  // namespace

bool is_startup(const Unit& u, const ObjSymbol& s) {
  return s.name == "main" || u.patched.sections()[s.section].name.starts_with(".text.startup");
}

std::optional<uint64_t> function_size_in_binary(const Program& p, const Unit& u, const ObjSymbol& s) {
  if (!p.binary) return std::nullopt;
  for (const ElfSymbol* b : p.binary->find_symbols(s.name)) {
    if (b->type != STT_FUNC || b->section_index == SHN_UNDEF) continue;
    if (s.bind == STB_LOCAL && (b->bind != STB_LOCAL || base_name(b->source_file) != base_name(u.file))) continue;
    if (b->size < arch::kNearJumpSize + 4) {
      // Big enough only without endbr64? Look at the entry to decide.
      auto entry = p.binary->read_vaddr(b->value, std::min<uint64_t>(b->size, 8));
      if (entry && b->size >= arch::entry_prologue_to_keep(*entry) + arch::kNearJumpSize) return arch::kNearJumpSize + 4;
    }
    return b->size;
  }
  return std::nullopt;
}

Plan close_over_dependencies(Program& program, Correlation& correlation, const Changes& changes) {
  return Closure(program, correlation, changes).run();
}

}  // namespace hotpatch::creator

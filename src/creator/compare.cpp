#include "creator/compare.h"

#include <elf.h>

#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "arch/arch.h"
#include "common/paths.h"
#include "creator/dwarf_info.h"

namespace hotpatch::creator {

namespace {

// The original objects' DWARF, read the first time a unit needs it.
class LineTables {
 public:
  const DwarfInfo* of(const Unit& u) {
    auto [it, fresh] = tables_.try_emplace(u.number);
    if (fresh) it->second = DwarfInfo::open(u.orig.path());
    return it->second.get();
  }

 private:
  std::map<uint32_t, std::unique_ptr<DwarfInfo>> tables_;
};

// Do `a` (in the original object) and `b` (in the patched one) mean the same thing?
bool same_target(const Unit& u, const Correlation& c, const Target& a, const Target& b) {
  if (a.kind != b.kind || a.delta != b.delta || a.tail != b.tail) return false;
  switch (a.kind) {
    case Target::External:
      return u.orig.symbols()[a.index].name == u.patched.symbols()[b.index].name;
    case Target::Symbol: {
      auto twin = c.twin_of({u.number, b.index});
      return twin && *twin == a.index;
    }
    case Target::Section:
      return unnamed_key(u.orig, a) == unnamed_key(u.patched, b);
  }
  return false;
}

// `before` and `after` differ only in __LINE__ values that the diff moved: none
// of the lines the function's code comes from (.debug_line, inlined code
// included) is a line the diff changes, and every differing immediate is one of
// those lines, moved by exactly what the diff adds or removes above it. Without a
// line table nothing can be told: the function counts as changed.
bool only_moved_lines(const Program& p, const Unit& u, const Correlation& c, const ObjSymbol& before,
                      const ObjSymbol& after, LineTables& tables) {
  bool touched = false;
  for (const auto& [file, hunks] : p.moves) touched |= !hunks.empty();
  if (!touched) return false;
  auto masked = masked_if_same_references(u, c, before, after, true);
  if (!masked) return false;
  auto diffs = arch::immediate_differences(masked->first, masked->second);
  if (!diffs || diffs->empty()) return false;
  const DwarfInfo* dwarf = tables.of(u);
  auto lines = dwarf ? dwarf->lines_of(before.name) : std::nullopt;
  if (!lines) return false;
  for (const auto& [file, numbers] : *lines) {
    auto hunks = p.moves.find(file);
    if (hunks == p.moves.end()) continue;
    for (int64_t n : numbers)
      if (!moved_line(hunks->second, n)) return false;  // the diff changes a line of this function
  }
  for (const auto& [old_value, new_value] : *diffs) {
    bool explained = false;
    for (const auto& [file, numbers] : *lines) {
      auto hunks = p.moves.find(file);
      if (hunks == p.moves.end() || !numbers.count(old_value)) continue;
      auto moved = moved_line(hunks->second, old_value);
      explained |= moved && *moved != old_value && *moved == new_value;
    }
    if (!explained) return false;
  }
  return true;
}

// GCC emits a C++ constructor's or destructor's complete- and base-object variants
// (C1/C2, D1/D2) as aliases of one body, and the program keeps them at one address:
// that function is replaced once, under the first of its names (the loader refuses
// two replacements of one address). Where the program has the names apart, each is
// its own function.
bool alias_of_an_earlier_name(const Program& p, const Unit& u, uint32_t i) {
  const auto& syms = u.patched.symbols();
  const ObjSymbol& s = syms[i];
  if (s.bind == STB_LOCAL) return false;
  for (uint32_t j = 0; j < i; ++j) {
    const ObjSymbol& o = syms[j];
    if (o.bind == STB_LOCAL || !is_defined_function(o) || o.section != s.section || o.value != s.value) continue;
    if (!p.binary) return true;
    auto at = [&](const std::string& name) -> std::optional<uint64_t> {
      for (const ElfSymbol* b : p.binary->find_symbols(name))
        if (b->section_index != SHN_UNDEF && b->bind != STB_LOCAL) return b->value;
      return std::nullopt;
    };
    auto mine = at(s.name), theirs = at(o.name);
    if (!mine || mine == theirs) return true;
  }
  return false;
}

void compare_unit(const Program& p, const Unit& u, const Correlation& c, Changes& out, LineTables& tables) {
  const auto& syms = u.patched.symbols();
  const auto& osyms = u.orig.symbols();
  for (uint32_t i = 0; i < syms.size(); ++i) {
    const ObjSymbol& s = syms[i];
    SymRef ref{u.number, i};
    if (!c.is_canonical(p, ref)) continue;  // compared where the first unit defines it
    if (is_defined_function(s)) {
      if (alias_of_an_earlier_name(p, u, i)) continue;
      auto twin = c.twin_of(ref);
      if (!twin) {
        if (c.is_new(ref)) out.added.insert(ref);
        continue;
      }
      const ObjSymbol& o = osyms[*twin];
      auto masked = masked_if_same_references(u, c, o, s, true);
      if (masked && masked->first == masked->second) continue;
      if (only_moved_lines(p, u, c, o, s, tables)) out.line_noise.push_back(ref);
      else out.changed.insert(ref);
    } else if (is_defined_object(s) && u.patched.sections()[s.section].is_allocated()) {
      auto twin = c.twin_of(ref);
      if (!twin) continue;  // new: carried only if changed code uses it
      const ObjSymbol& o = osyms[*twin];
      // Read-only data is carried whole and every reader switched to the copy, so
      // its size may change too; writable data is the running program's own.
      bool writable = u.patched.sections()[s.section].is_writable();
      if (o.size != s.size && writable) {
        out.changed_data.emplace_back(ref, fmt::format("its size changed from {} to {} bytes", o.size, s.size));
        continue;
      }
      auto masked = masked_if_same_references(u, c, o, s, false);
      if (masked && masked->first == masked->second) continue;
      if (writable) out.changed_data.emplace_back(ref, "its initial value changed");
      else out.changed_constants.insert(ref);
    }
  }
}

}  // namespace

std::optional<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> masked_if_same_references(
    const Unit& u, const Correlation& c, const ObjSymbol& a, const ObjSymbol& b, bool code) {
  if (a.size != b.size) return std::nullopt;
  auto ba = bytes_of(u.orig, a), bb = bytes_of(u.patched, b);
  if (ba.size() != bb.size()) return std::nullopt;
  auto ra = relocations_in(u.orig, a.section, a.value, a.size);
  auto rb = relocations_in(u.patched, b.section, b.value, b.size);
  if (ra.size() != rb.size()) return std::nullopt;
  std::vector<uint8_t> ma(ba.begin(), ba.end()), mb(bb.begin(), bb.end());
  CodeContext ca, cb;
  if (code) ca = code_of(u.orig, a), cb = code_of(u.patched, b);
  for (size_t i = 0; i < ra.size(); ++i) {
    if (ra[i].offset - a.value != rb[i].offset - b.value || ra[i].type != rb[i].type) return std::nullopt;
    if (!same_target(u, c, target_of(u.orig, ra[i], ca), target_of(u.patched, rb[i], cb))) return std::nullopt;
    size_t at = ra[i].offset - a.value, w = width_of(ra[i].type);
    for (size_t k = 0; k < w && at + k < ma.size(); ++k) ma[at + k] = mb[at + k] = 0;
  }
  return std::make_pair(std::move(ma), std::move(mb));
}

Changes compare(const Program& program, const Correlation& correlation) {
  Changes out;
  LineTables tables;
  for (const auto& u : program.units)
    if (!u->unchanged) compare_unit(program, *u, correlation, out, tables);
  return out;
}

std::vector<std::string> differing_symbols(const ObjectFile& first, const ObjectFile& second) {
  Program p(nullptr, {});
  p.units.push_back(std::make_unique<Unit>("", first, second));
  Correlation c = correlate(p);
  Changes changes = compare(p, c);
  const Unit& u = *p.units[0];
  std::vector<std::string> out;
  auto name = [&](const ObjSymbol& s) { return s.bind == STB_LOCAL ? u.file + "::" + s.name : s.name; };
  for (SymRef r : changes.changed) out.push_back(name(p.sym(r)));
  for (SymRef r : changes.added) out.push_back(name(p.sym(r)));
  for (SymRef r : changes.changed_constants) out.push_back(name(p.sym(r)));
  for (const auto& [r, why] : changes.changed_data) out.push_back(name(p.sym(r)));
  for (const auto& [r, why] : c.ambiguous[0]) out.push_back(name(p.sym({0, r})));
  const auto& ssyms = second.symbols();
  for (uint32_t i = 0; i < ssyms.size(); ++i)
    if (is_defined_object(ssyms[i]) && !c.twin_of({0, i}) && !c.ambiguous[0].count(i)) out.push_back(name(ssyms[i]));
  // What the first has and the second lacks.
  const auto& fsyms = first.symbols();
  std::set<uint32_t> matched;
  for (const auto& [patched, orig] : c.twin[0]) matched.insert(orig);
  for (uint32_t i = 0; i < fsyms.size(); ++i)
    if ((is_defined_function(fsyms[i]) || is_defined_object(fsyms[i])) && !matched.count(i)) out.push_back(name(fsyms[i]));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace hotpatch::creator

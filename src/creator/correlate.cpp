#include "creator/correlate.h"

#include <elf.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

namespace hotpatch::creator {

namespace {

using NameIndex = std::unordered_map<std::string, uint32_t>;

// Defined symbols of one kind by name; a name defined twice (two file-scope
// statics cannot be, but odd objects can) keeps its first.
NameIndex by_name(const ObjectFile& obj, uint8_t type) {
  NameIndex out;
  const auto& syms = obj.symbols();
  for (uint32_t i = 0; i < syms.size(); ++i) {
    bool wanted = type == STT_FUNC ? is_defined_function(syms[i]) : is_defined_object(syms[i]);
    if (wanted) out.emplace(syms[i].name, i);
  }
  return out;
}

bool is_function_local(const ObjSymbol& s, std::string* base) {
  return s.bind == STB_LOCAL && has_number_suffix(s.name, base);
}

void correlate_unit(const Unit& u, std::map<uint32_t, uint32_t>& twin, std::map<uint32_t, std::string>& ambiguous) {
  const auto& syms = u.patched.symbols();
  if (u.unchanged) {
    for (uint32_t i = 0; i < syms.size(); ++i)
      if (is_defined_function(syms[i]) || is_defined_object(syms[i])) twin[i] = i;
    return;
  }
  const auto& osyms = u.orig.symbols();
  NameIndex ofuncs = by_name(u.orig, STT_FUNC), oobjs = by_name(u.orig, STT_OBJECT);
  for (uint32_t i = 0; i < syms.size(); ++i) {
    std::string base;
    if (is_defined_function(syms[i])) {
      if (auto it = ofuncs.find(syms[i].name); it != ofuncs.end()) twin[i] = it->second;
    } else if (is_defined_object(syms[i]) && !is_function_local(syms[i], &base)) {
      if (auto it = oobjs.find(syms[i].name); it != oobjs.end()) twin[i] = it->second;
    }
  }

  // Function-local statics: the originals each twin function refers to, by base name.
  std::map<uint32_t, std::map<std::string, std::set<uint32_t>>> orig_locals_of;  // orig function -> base -> statics
  auto locals_of = [&](uint32_t orig_function) -> const std::map<std::string, std::set<uint32_t>>& {
    auto [it, fresh] = orig_locals_of.try_emplace(orig_function);
    if (fresh)
      for (uint32_t o : objects_referenced_by(u.orig, osyms[orig_function])) {
        std::string base;
        if (is_function_local(osyms[o], &base)) it->second[base].insert(o);
      }
    return it->second;
  };
  std::map<uint32_t, std::set<uint32_t>> users;  // patched static -> patched functions using it
  for (uint32_t f = 0; f < syms.size(); ++f) {
    if (!is_defined_function(syms[f])) continue;
    for (uint32_t o : objects_referenced_by(u.patched, syms[f]))
      if (is_function_local(syms[o], nullptr)) users[o].insert(f);
  }
  std::set<std::string> orig_bases_writable;
  for (const auto& s : osyms) {
    std::string base;
    if (is_defined_object(s) && is_function_local(s, &base) && u.orig.sections()[s.section].is_writable())
      orig_bases_writable.insert(base);
  }
  std::map<uint32_t, std::vector<uint32_t>> claimed;  // orig static -> patched statics tied to it
  for (uint32_t i = 0; i < syms.size(); ++i) {
    std::string base;
    if (!is_defined_object(syms[i]) || !is_function_local(syms[i], &base)) continue;
    std::set<uint32_t> all, common;
    bool first = true;
    std::vector<std::string> users_with_twin;
    for (uint32_t f : users[i]) {
      auto ft = twin.find(f);
      if (ft == twin.end()) continue;
      users_with_twin.push_back(syms[f].name);
      const auto& locals = locals_of(ft->second);
      auto it = locals.find(base);
      if (it == locals.end()) continue;  // the function did not use one before: perhaps new
      all.insert(it->second.begin(), it->second.end());
      if (first) common = it->second;
      else std::erase_if(common, [&](uint32_t o) { return !it->second.count(o); });
      first = false;
    }
    if (all.empty()) {
      // No function that existed before used a static of this name: a new one,
      // unless nothing tells (a writable one used by no function we know).
      if (users_with_twin.empty() && users[i].empty() && orig_bases_writable.count(base))
        ambiguous[i] = "used by no function, so it cannot be told which original it is";
      continue;
    }
    if (common.size() != 1) {
      ambiguous[i] = fmt::format("{} before the fix used {} statics named '{}'; cannot tell which this is",
                                 fmt::join(users_with_twin, ", "), all.size(), base);
      continue;
    }
    twin[i] = *common.begin();
    claimed[*common.begin()].push_back(i);
  }
  for (const auto& [o, patched_ones] : claimed) {
    if (patched_ones.size() < 2) continue;
    for (uint32_t p : patched_ones) {
      twin.erase(p);
      ambiguous[p] = fmt::format("{} statics of the fixed code correspond to the one original '{}'", patched_ones.size(),
                                 osyms[o].name);
    }
  }
}

}  // namespace

std::vector<uint32_t> objects_referenced_by(const ObjectFile& obj, const ObjSymbol& f) {
  std::vector<uint32_t> out;
  CodeContext code = code_of(obj, f);
  for (const auto& r : relocations_in(obj, f.section, f.value, f.size)) {
    Target t = target_of(obj, r, code);
    if (t.kind == Target::Symbol && obj.symbols()[t.index].type == STT_OBJECT) out.push_back(t.index);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<uint32_t> Correlation::twin_of(SymRef s) const {
  if (s.unit >= twin.size()) return std::nullopt;
  auto it = twin[s.unit].find(s.index);
  if (it == twin[s.unit].end()) return std::nullopt;
  return it->second;
}

std::optional<SymRef> Correlation::definition(const Program& p, uint32_t unit, const Target& t) const {
  if (t.kind == Target::Symbol) return SymRef{unit, t.index};
  if (t.kind != Target::External) return std::nullopt;
  auto it = globals.find(p.unit(unit).patched.symbols()[t.index].name);
  if (it == globals.end()) return std::nullopt;
  return it->second;
}

std::string Correlation::binary_name(const Program& p, SymRef s) const {
  const Unit& u = p.unit(s.unit);
  const ObjSymbol& sym = p.sym(s);
  auto twin = twin_of(s);
  const std::string& name = twin ? u.orig.symbols()[*twin].name : sym.name;
  return sym.bind == STB_LOCAL ? u.file + "::" + name : name;
}

void correlate_units(const Program& program, Correlation& c, size_t from) {
  c.twin.resize(program.units.size());
  c.ambiguous.resize(program.units.size());
  for (size_t n = from; n < program.units.size(); ++n) {
    const Unit& u = *program.units[n];
    correlate_unit(u, c.twin[n], c.ambiguous[n]);
    const auto& syms = u.patched.symbols();
    for (uint32_t i = 0; i < syms.size(); ++i) {
      const ObjSymbol& s = syms[i];
      if ((s.bind == STB_GLOBAL || s.bind == STB_WEAK) && (is_defined_function(s) || is_defined_object(s)))
        c.globals.emplace(s.name, SymRef{static_cast<uint32_t>(n), i});
    }
  }
}

Correlation correlate(const Program& program) {
  Correlation c;
  correlate_units(program, c, 0);
  return c;
}

}  // namespace hotpatch::creator

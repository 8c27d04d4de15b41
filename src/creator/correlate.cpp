#include "creator/correlate.h"

#include <elf.h>

#include <algorithm>
#include <optional>
#include <string_view>
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

// A C++ function-local static (`_ZZ1fiE1n`) or its guard (`_ZGVZ1fiE1n`) without
// the discriminator the compiler numbers same-named statics of one function with
// in order (`_ZZ1fiE1n_0`, `__12_`); nullopt for other names.
std::optional<std::string> cpp_local_family(const std::string& name) {
  if (!name.starts_with("_ZZ") && !name.starts_with("_ZGVZ")) return std::nullopt;
  auto is_discriminator = [](std::string_view rest) {
    auto digits = [](std::string_view d) {
      return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (rest.empty()) return true;
    if (rest.size() == 2 && rest[0] == '_') return digits(rest.substr(1));
    return rest.size() > 3 && rest.starts_with("__") && rest.back() == '_' && digits(rest.substr(2, rest.size() - 3));
  };
  for (size_t e = name.rfind('E'); e != std::string::npos && e > 0; e = name.rfind('E', e - 1)) {
    size_t q = e + 1, len = 0;
    while (q < name.size() && name[q] >= '0' && name[q] <= '9') len = len * 10 + (name[q++] - '0');
    if (q == e + 1 || q + len > name.size()) continue;
    if (is_discriminator(std::string_view(name).substr(q + len))) return name.substr(0, q + len);
  }
  return std::nullopt;
}

// C++ statics of one name in one function are told apart only by their order: if
// the fix adds or removes one, the names no longer say which is which.
void renumbered_cpp_locals(const Unit& u, std::map<uint32_t, uint32_t>& twin,
                           std::map<uint32_t, std::string>& ambiguous) {
  std::map<std::string, int> before;
  for (const auto& s : u.orig.symbols())
    if (is_defined_object(s))
      if (auto f = cpp_local_family(s.name)) ++before[*f];
  std::map<std::string, std::vector<uint32_t>> after;
  const auto& syms = u.patched.symbols();
  for (uint32_t i = 0; i < syms.size(); ++i)
    if (is_defined_object(syms[i]))
      if (auto f = cpp_local_family(syms[i].name)) after[*f].push_back(i);
  for (const auto& [family, members] : after) {
    int n = before.count(family) ? before.at(family) : 0;
    if (n == 0 || n == static_cast<int>(members.size())) continue;
    for (uint32_t i : members) {
      twin.erase(i);
      ambiguous[i] = fmt::format("the function has {} statics of this name before the fix and {} after, numbered in "
                                 "order, so which is which cannot be told",
                                 n, members.size());
    }
  }
}

// The lambdas a demangled name mentions, each as its family: the text up to its
// number, "make_cb(int)::{lambda(int)#" of "make_cb(int)::{lambda(int)#2}".
std::vector<std::pair<std::string, std::string>> lambda_families(const std::string& demangled) {
  std::vector<std::pair<std::string, std::string>> out;  // family, number
  for (size_t at = demangled.find("{lambda("); at != std::string::npos; at = demangled.find("{lambda(", at + 1)) {
    size_t i = at + 8;
    for (int depth = 1; i < demangled.size() && depth > 0; ++i) depth += demangled[i] == '(' ? 1 : demangled[i] == ')' ? -1 : 0;
    if (i >= demangled.size() || demangled[i] != '#') continue;
    size_t end = demangled.find('}', i);
    out.emplace_back(demangled.substr(0, i + 1), demangled.substr(i + 1, end == std::string::npos ? 0 : end - i - 1));
  }
  return out;
}

// GCC numbers the closure types of one function's lambdas of one signature in order
// (`make_cb(int)::{lambda(int)#1}`, `#2`), and names after them what it makes for
// each: the operator(), std::function's invoker and manager, typeinfo. A fix that
// adds or removes one renumbers the others: the old lambda's invoker would be
// "changed" into the new lambda's, and a callback stored before the apply would run
// the other lambda's code on its captures. Which is which cannot be told: untied.
void renumbered_lambdas(const Unit& u, std::map<uint32_t, uint32_t>& twin,
                        std::map<uint32_t, std::string>& ambiguous) {
  auto numbers_of = [](const ObjectFile& obj) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& s : obj.symbols())
      if (s.name.find("Ul") != std::string::npos)
        for (auto& [family, number] : lambda_families(readable_name(s.name))) out[family].insert(number);
    return out;
  };
  auto before = numbers_of(u.orig), after = numbers_of(u.patched);
  std::set<std::string> renumbered;
  for (const auto& [family, numbers] : after)
    if (before.count(family) && before.at(family) != numbers) renumbered.insert(family);
  for (const auto& [family, numbers] : before)
    if (!after.count(family)) renumbered.insert(family);
  if (renumbered.empty()) return;
  const auto& syms = u.patched.symbols();
  for (uint32_t i = 0; i < syms.size(); ++i) {
    if (syms[i].name.find("Ul") == std::string::npos) continue;
    for (const auto& family_number : lambda_families(readable_name(syms[i].name))) {
      if (!renumbered.count(family_number.first)) continue;
      twin.erase(i);
      ambiguous[i] =
          "the fix adds or removes a lambda of this signature in the same function, and the compiler numbers them "
          "in order ({lambda(...)#1}, #2), so which lambda is which cannot be told (a callback made before the apply "
          "would run another lambda's code); put the new code in a named function (a lambda in a new function of "
          "its own is numbered apart), or restart the program";
      break;
    }
  }
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

  renumbered_cpp_locals(u, twin, ambiguous);
  renumbered_lambdas(u, twin, ambiguous);

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
  if (t.kind != Target::Symbol && t.kind != Target::External) return std::nullopt;
  const ObjSymbol& s = p.unit(unit).patched.symbols()[t.index];
  // A C++ inline function, template instance or their statics is defined in every
  // object that uses it (weak, in a COMDAT group); the linker kept one copy. Every
  // unit's reference means that one: the first unit's definition (is_canonical()).
  if (t.kind == Target::Symbol && s.bind == STB_LOCAL) return SymRef{unit, t.index};
  auto it = globals.find(s.name);
  if (t.kind == Target::Symbol) return it == globals.end() ? SymRef{unit, t.index} : it->second;
  if (it == globals.end()) return std::nullopt;
  return it->second;
}

bool Correlation::is_canonical(const Program& p, SymRef s) const {
  const ObjSymbol& sym = p.sym(s);
  if (sym.bind == STB_LOCAL) return true;
  auto it = globals.find(sym.name);
  return it == globals.end() || it->second == s;
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
      if (s.bind == STB_LOCAL || !(is_defined_function(s) || is_defined_object(s))) continue;  // GLOBAL, WEAK, UNIQUE
      SymRef ref{static_cast<uint32_t>(n), i};
      auto [it, fresh] = c.globals.emplace(s.name, ref);
      // Of several copies of an inline function, the one of a file that had it before
      // the fix stands for all: compared with its original, it shows a change.
      if (!fresh && !c.twin_of(it->second) && c.twin_of(ref)) it->second = ref;
    }
  }
}

Correlation correlate(const Program& program) {
  Correlation c;
  correlate_units(program, c, 0);
  c.in_program.resize(program.units.size());
  if (!program.binary) return c;
  for (const auto& [name, ref] : c.globals) {
    const ObjSymbol& s = program.sym(ref);
    if (s.bind == STB_GLOBAL || c.twin_of(ref)) continue;
    for (const ElfSymbol* b : program.binary->find_symbols(name))
      if (b->section_index != SHN_UNDEF && b->bind != STB_LOCAL) {
        c.in_program[ref.unit].insert(ref.index);
        break;
      }
  }
  return c;
}

}  // namespace hotpatch::creator

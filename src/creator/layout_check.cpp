#include "creator/layout_check.h"

#include <elf.h>

#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

namespace hotpatch::creator {

std::string describe_layout_change(const DwarfInfo::Layout& before, const DwarfInfo::Layout& after) {
  std::vector<std::string> parts;
  if (before.size != after.size) parts.push_back(fmt::format("size {} -> {} bytes", before.size, after.size));
  auto where = [](const DwarfInfo::Member& m) {
    return m.bits ? fmt::format("bit {}", m.offset) : fmt::format("offset {}", m.offset);
  };
  std::map<std::string, const DwarfInfo::Member*> old_members;
  for (const auto& m : before.members) old_members[m.name] = &m;
  for (const auto& m : after.members) {
    auto it = old_members.find(m.name);
    if (it == old_members.end()) {
      parts.push_back(fmt::format("new field '{}' at {}", m.name, where(m)));
    } else {
      const DwarfInfo::Member& o = *it->second;
      if (o.offset != m.offset || o.bits != m.bits)
        parts.push_back(fmt::format("field '{}' moved from {} to {}", m.name, where(o), where(m)));
      else if (o.size != m.size)
        parts.push_back(fmt::format("field '{}' changed size from {} to {} {}", m.name, o.size, m.size, m.bits ? "bits" : "bytes"));
      old_members.erase(it);
    }
    if (parts.size() >= 3) break;
  }
  for (const auto& [name, m] : old_members)
    if (parts.size() < 3) parts.push_back(fmt::format("field '{}' removed", name));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::vector<std::string> check_type_layouts(const Program& p, const Correlation& c, const Plan& plan) {
  std::map<uint32_t, std::unique_ptr<DwarfInfo>> patched;
  std::map<uint32_t, std::map<std::string, DwarfInfo::Layout>> before;  // by unit, all types of the original
  std::set<std::string> reported;
  std::vector<std::string> out;
  auto layouts_before = [&](uint32_t unit) -> const std::map<std::string, DwarfInfo::Layout>& {
    auto [it, fresh] = before.try_emplace(unit);
    if (fresh)
      if (auto d = DwarfInfo::open(p.unit(unit).orig.path())) it->second = d->type_layouts();
    return it->second;
  };
  for (SymRef f : plan.included) {
    const Unit& u = p.unit(f.unit);
    if (u.unchanged) continue;  // its code is compiled as before
    auto [pit, fresh] = patched.try_emplace(f.unit);
    if (fresh) pit->second = DwarfInfo::open(u.patched.path());
    if (!pit->second) continue;  // no DWARF: nothing to compare (docs/creator.md)
    // The variables it names, for the types it reaches through them.
    std::vector<std::string> variables;
    const ObjSymbol& fs = p.sym(f);
    CodeContext code = code_of(u.patched, fs);
    for (const auto& r : relocations_in(u.patched, fs.section, fs.value, fs.size)) {
      Target t = target_of(u.patched, r, code);
      if (t.kind != Target::Section && u.syms()[t.index].type != STT_FUNC) variables.push_back(u.syms()[t.index].name);
    }
    for (const auto& [name, layout] : pit->second->type_layouts_used_by(fs.name, variables)) {
      if (reported.count(name)) continue;
      const DwarfInfo::Layout* old = nullptr;
      if (auto it = layouts_before(f.unit).find(name); it != layouts_before(f.unit).end()) old = &it->second;
      for (uint32_t n = 0; !old && n < p.units.size(); ++n) {
        if (n == f.unit || p.unit(n).unchanged) continue;
        if (auto it = layouts_before(n).find(name); it != layouts_before(n).end()) old = &it->second;
      }
      if (!old || *old == layout) continue;
      reported.insert(name);
      out.push_back(fmt::format(
          "{}: uses {}, whose layout the fix changes ({}): the program's existing {} objects keep the old layout, "
          "which the new code would misread; keep the layout and attach the new data with a shadow variable "
          "(docs/creator.md#shadow-variables), or restart the program",
          u.where(fs), name, describe_layout_change(*old, layout), name));
    }
  }
  return out;
}

}  // namespace hotpatch::creator

#include "creator/verify.h"

#include <elf.h>

#include <fmt/format.h>

namespace hotpatch::creator {

namespace {

class Verifier {
 public:
  Verifier(const Program& p, const Correlation& c, const Changes& changes, const Plan& plan)
      : p_(p), c_(c), changes_(changes), plan_(plan) {}

  std::vector<std::string> run() {
    for (SymRef f : plan_.startup)
      refuse(f, "changed, but it is start-up code (or main, which never returns): a running process will not run it "
                "again");
    for (const auto& [d, what] : changes_.changed_data) changed_data(d, what);
    for (SymRef f : plan_.too_short)
      refuse(f, fmt::format("changed, but it is {} bytes in the program, too short for a jump, and other files may call "
                            "it", plan_.size_in_binary.at(f)));
    for (SymRef f : plan_.included) references_of_function(f);
    for (SymRef d : plan_.carried_data) references_of_data(d);
    return std::move(refusals_);
  }

 private:
  void refuse(SymRef s, const std::string& why) { refusals_.push_back(fmt::format("{}: {}", where(s), why)); }
  std::string where(SymRef s) const { return p_.unit(s.unit).where(p_.sym(s)); }

  void changed_data(SymRef d, const std::string& what) {
    if (what.starts_with("its size"))
      refuse(d, what + " (data layout); existing data cannot be resized in a running process");
    else
      refuse(d, what + "; a running process already has its own value, which a patch does not re-initialise");
  }

  // A static the patch uses must be the program's own, known for sure.
  void used_symbol(SymRef from, uint32_t unit, const Target& t) {
    auto def = c_.definition(p_, unit, t);
    if (!def) return;
    auto it = c_.ambiguous[def->unit].find(def->index);
    if (it != c_.ambiguous[def->unit].end() && used_statics_.insert(*def).second)
      refuse(from, fmt::format("uses the function-local static '{}': {}", p_.sym(*def).name, it->second));
  }

  void references_of_function(SymRef f) {
    const Unit& u = p_.unit(f.unit);
    const ObjSymbol& fs = p_.sym(f);
    CodeContext code = code_of(u.patched, fs);
    for (const auto& r : relocations_in(u.patched, fs.section, fs.value, fs.size)) {
      if (is_tls(r.type)) {
        refuse(f, fmt::format("uses thread-local storage ('{}'), which patches cannot reach yet",
                              u.syms()[r.symbol].name));
        continue;
      }
      Target t = target_of(u.patched, r, code);
      if (t.kind == Target::Section) {
        const ObjSection& sec = u.patched.sections()[t.index];
        if (sec.is_writable() || sec.is_code())
          refuse(f, fmt::format("refers to unnamed {} data at {}+{:#x}; cannot tell which variable",
                                sec.is_code() ? "code" : "writable", sec.name, t.delta));
        continue;
      }
      used_symbol(f, f.unit, t);
    }
  }

  void references_of_data(SymRef d) {
    const Unit& u = p_.unit(d.unit);
    const ObjSymbol& ds = p_.sym(d);
    for (const auto& r : relocations_in(u.patched, ds.section, ds.value, ds.size)) {
      Target t = target_of(u.patched, r, std::nullopt);
      if (t.kind == Target::Section) {
        const ObjSection& sec = u.patched.sections()[t.index];
        if (sec.is_writable() || sec.is_code())
          refuse(d, fmt::format("points to unnamed {} data at {}+{:#x}; cannot tell which variable",
                                sec.is_code() ? "code" : "writable", sec.name, t.delta));
        continue;
      }
      used_symbol(d, d.unit, t);
    }
  }

  const Program& p_;
  const Correlation& c_;
  const Changes& changes_;
  const Plan& plan_;
  std::set<SymRef> used_statics_;
  std::vector<std::string> refusals_;
};

}  // namespace

std::vector<std::string> verify(const Program& program, const Correlation& correlation, const Changes& changes,
                                const Plan& plan) {
  return Verifier(program, correlation, changes, plan).run();
}

}  // namespace hotpatch::creator

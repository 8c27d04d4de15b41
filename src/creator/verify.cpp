#include "creator/verify.h"

#include "arch/arch.h"
#include "creator/layout_check.h"
#include "creator/run_pre.h"

#include <elf.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace hotpatch::creator {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

class Verifier {
 public:
  Verifier(const Program& p, const Correlation& c, const Changes& changes, const Plan& plan)
      : p_(p), c_(c), changes_(changes), plan_(plan) {}

  std::vector<std::string> run() {
    for (const auto& u : p_.units)
      if (!u->unchanged) constructors(*u);
    for (SymRef f : plan_.startup)
      if (!constructors_.count(f))
        refuse(f, p_.sym(f).name == "main"
                      ? "changed, but main never returns: a running process stays in the old main forever; move the "
                        "changed part into a function main calls, or restart the program"
                      : "changed, but it is start-up code: a running process will not run it again; if the running "
                        "program needs its effect, do that in a HOTPATCH_POST_APPLY callback of a hook file "
                        "(create --hooks, docs/creator.md#callbacks), or restart the program");
    for (const auto& [d, what] : changes_.changed_data) changed_data(d, what);
    for (const auto& u : p_.units)
      if (!u->unchanged) moved_definitions(*u);
    for (SymRef f : plan_.too_short)
      refuse(f, fmt::format("changed, but it is {} bytes in the program, too short for a jump, and other files may call "
                            "it; make it static (then its callers are patched instead) or change its callers, or "
                            "restart the program", plan_.size_in_binary.at(f)));
    for (SymRef f : plan_.included) {
      references_of(f, true);
      branches_without_relocation(f);
    }
    for (SymRef d : plan_.carried_data) references_of(d, false);
    for (const auto& ref : plan_.constants_pointed_to) {
      if (ref.from && plan_.carried_data.count(*ref.from)) continue;  // its copy points to the new one
      refuse(ref.constant, fmt::format("a changed constant whose address is stored in {}: code reading it through "
                                       "that pointer would keep the old contents; leave the table as it is and "
                                       "change the code that uses it (or add a new table), or restart the program",
                                       ref.from ? where(*ref.from) : ref.from_section));
    }
    absolute_references_to_the_patch();
    for (auto& r : check_type_layouts(p_, c_, plan_)) refusals_.push_back(std::move(r));
    for (auto& r : match_running_program(p_, c_, plan_)) refusals_.push_back(std::move(r));
    return std::move(refusals_);
  }

 private:
  void refuse(SymRef s, const std::string& why) { refusals_.push_back(fmt::format("{}: {}", where(s), why)); }
  std::string where(SymRef s) const { return p_.unit(s.unit).where(p_.sym(s)); }

  void changed_data(SymRef d, const std::string& what) {
    if (what.starts_with("its size"))
      refuse(d, what + " (data layout); existing data cannot be resized in a running process: keep the variable as "
                       "it is and put what is new in a new variable (the patch allocates and initialises new ones), "
                       "or attach it to existing objects with a shadow variable (docs/creator.md#shadow-variables), "
                       "or restart the program");
    else
      refuse(d, what + "; a running process already has its own value, which a patch does not re-initialise: leave "
                       "the initialiser as it is, and set the live value in a HOTPATCH_POST_APPLY callback of a hook "
                       "file (create --hooks, docs/creator.md#callbacks) if it must change, or restart the program");
  }

  // A global the fixed file defines and its object did not, but the program does:
  // the fix moved it from another file (or from a file into a new one). A global
  // name is one thing in a program, so this is not new: a copy in the patch would
  // start from its initial value while the program's code keeps its own (a
  // variable), or leave the program's callers on the old code and drop a change
  // made in the move (a function). C++'s weak copies of inline functions are
  // interchangeable and stay allowed; for a weak or unique object (an inline
  // function's static) the patch uses the program's (Correlation::in_program).
  void moved_definitions(const Unit& u) {
    if (!p_.binary) return;
    const auto& syms = u.patched.symbols();
    for (uint32_t i = 0; i < syms.size(); ++i) {
      const ObjSymbol& s = syms[i];
      if (s.bind == STB_LOCAL || c_.twin_of({u.number, i})) continue;
      const bool function = is_defined_function(s);
      if (s.bind != STB_GLOBAL || !(function || (is_defined_object(s) && u.patched.sections()[s.section].is_writable())))
        continue;
      for (const ElfSymbol* b : p_.binary->find_symbols(s.name)) {
        if (b->section_index == SHN_UNDEF || b->bind == STB_LOCAL) continue;
        const bool b_function = b->type == STT_FUNC || b->type == STT_GNU_IFUNC;
        if (b_function != function) continue;
        refuse({u.number, i},
               fmt::format("defined here by the fix, but the program already has this {} in another file (moved "
                           "between files?): {}; keep the definition in the file it was in, or restart the program",
                           function ? "global function" : "global variable",
                           function ? "its callers in the program would keep the old code, and a change made in the "
                                      "move would be lost"
                                    : "the patch would get a second copy starting from its initial value while the "
                                      "program's code keeps using its own"));
        break;
      }
    }
  }

  // Code registered to run at program start that is new or changed. A patch is
  // not a program start: nothing would run it, and the new code may rely on what it
  // sets up. A C++ dynamic initialiser of a file initialises all of the file's
  // globals that need it: running it again would also reset existing ones.
  void constructors(const Unit& u) {
    std::set<uint32_t> before = constructors_of(u.orig);
    for (uint32_t f : constructors_of(u.patched)) {
      SymRef ref{u.number, f};
      constructors_.insert(ref);
      auto twin = c_.twin_of(ref);
      bool changed = !twin || !before.count(*twin) || changes_.changed.count(ref);
      if (!changed) continue;
      const ObjSymbol& s = p_.sym(ref);
      if (!s.name.starts_with("_GLOBAL__sub_I_")) {
        refuse(ref, fmt::format("a {} constructor (it runs once, at program start): a patch's constructors are not run "
                                "when it is applied, and the code that relies on it would see what it never set up; "
                                "initialise on first use in the new code, or do it in a HOTPATCH_PRE_APPLY callback of "
                                "a hook file (create --hooks, docs/creator.md#callbacks), or restart the program",
                                twin ? "changed" : "new"));
        continue;
      }
      std::vector<std::string> existing, added;
      for (SymRef d : initialised_by(ref))
        (c_.is_new(d) ? added : existing).push_back(readable_name(p_.sym(d).name));
      if (!existing.empty())
        refuse(ref, fmt::format("the C++ dynamic initialiser of {} changed: running it would also re-run the "
                                "initialisers of existing globals ({}), which hold the running program's state; give "
                                "a new global a constant initialiser, initialise it on first use, or in a "
                                "HOTPATCH_PRE_APPLY callback (docs/creator.md#callbacks)",
                                u.file, join(existing)));
      else
        refuse(ref, fmt::format("the C++ dynamic initialiser of {} is new (for {}): a patch's initialisers are not run "
                                "when it is applied; give the new global a constant initialiser, initialise it on "
                                "first use, or in a HOTPATCH_PRE_APPLY callback (docs/creator.md#callbacks)", u.file, added.empty() ? std::string("no global") : join(added)));
    }
  }

  // The variables of its unit that initialiser `f` writes or reads, following calls
  // into functions of the same unit (__static_initialization_and_destruction_0).
  std::set<SymRef> initialised_by(SymRef f) {
    std::set<SymRef> data, seen{f};
    std::vector<SymRef> work{f};
    const Unit& u = p_.unit(f.unit);
    while (!work.empty()) {
      SymRef g = work.back();
      work.pop_back();
      const ObjSymbol& gs = p_.sym(g);
      CodeContext code = code_of(u.patched, gs);
      for (const auto& r : relocations_in(u.patched, gs.section, gs.value, gs.size)) {
        Target t = target_of(u.patched, r, code);
        if (t.kind != Target::Symbol) continue;
        SymRef to{f.unit, t.index};
        const ObjSymbol& ts = p_.sym(to);
        if (ts.type == STT_OBJECT && !is_indirection_cell(ts.name) && !ts.name.starts_with("__dso_handle")) data.insert(to);
        if (ts.type == STT_FUNC && seen.insert(to).second) work.push_back(to);
      }
    }
    return data;
  }

  // Non-PIE code addresses data with 32-bit absolute values (`mov $str, %edi`).
  // Pointing those at the patch's own code or data needs the patch mapped below
  // 2 GiB, which the loader does next to a program linked there (0x400000 by
  // default); a program linked higher cannot get such a patch.
  void absolute_references_to_the_patch() {
    if (!p_.binary || p_.binary->is_pie_or_shared()) return;
    uint64_t highest = 0;
    for (const auto& seg : p_.binary->load_segments()) highest = std::max(highest, seg.vaddr + seg.memsz);
    constexpr uint64_t kLowEnough = (uint64_t{1} << 31) - (uint64_t{256} << 20);  // 2 GiB, with room for the patch
    if (highest < kLowEnough) return;
    for (SymRef f : plan_.included) {
      const Unit& u = p_.unit(f.unit);
      const ObjSymbol& fs = p_.sym(f);
      CodeContext code = code_of(u.patched, fs);
      for (const auto& r : relocations_in(u.patched, fs.section, fs.value, fs.size)) {
        if (!is_absolute32(r.type)) continue;
        Target t = target_of(u.patched, r, code);
        auto def = c_.definition(p_, f.unit, t);
        bool to_the_patch = t.kind == Target::Section ? plan_.carried_sections.count({f.unit, t.index}) > 0
                                                      : def && (plan_.included.count(*def) || plan_.carried_data.count(*def));
        if (!to_the_patch) continue;
        refuse(f, fmt::format("non-PIE code that refers to the patch's own code or data by 32-bit absolute address, "
                              "but the program is linked up to {:#x}, too high for the patch to be mapped below 2 GiB "
                              "next to it; build the program as PIE (-fPIE -pie) or link it lower", highest));
        return;
      }
    }
  }

  // A static the patch uses must be the program's own, known for sure.
  void used_symbol(SymRef from, uint32_t unit, const Target& t) {
    auto def = c_.definition(p_, unit, t);
    if (!def) return;
    auto it = c_.ambiguous[def->unit].find(def->index);
    if (it == c_.ambiguous[def->unit].end() || !used_statics_.insert(*def).second) return;
    if (readable_name(p_.sym(*def).name).find("{lambda(") != std::string::npos)
      refuse(from, fmt::format("uses '{}': {}", readable_name(p_.sym(*def).name), it->second));
    else
      refuse(from, fmt::format("uses the function-local static '{}': {}; give the statics of one name in this "
                               "function distinct names in the fix, or restart the program", p_.sym(*def).name,
                               it->second));
  }

  // Copied code may leave itself only through relocated fields: a direct call or
  // jump the assembler resolved (an object built without one section per function,
  // calling a static function next to it) would land on whatever follows the copy.
  void branches_without_relocation(SymRef f) {
    const Unit& u = p_.unit(f.unit);
    const ObjSymbol& fs = p_.sym(f);
    auto leaving = arch::branches_leaving(bytes_of(u.patched, fs));
    if (!leaving) {
      refuse(f, "its code does not decode as x86-64 instructions, so where it jumps cannot be checked; restart the "
                "program");
      return;
    }
    std::set<uint64_t> relocated;
    for (const auto& r : relocations_in(u.patched, fs.section, fs.value, fs.size)) relocated.insert(r.offset - fs.value);
    for (uint64_t field : *leaving) {
      if (relocated.count(field)) continue;
      refuse(f, fmt::format("it calls or jumps out of itself at +{:#x} with no relocation (the assembler resolved it: "
                            "{} was compiled without one section per function), so a copy would land elsewhere; "
                            "build it through hotpatch create's compiler capture, which adds -ffunction-sections",
                            field, u.relpath));
      return;
    }
  }

  // What carried code (or data) refers to must be something the program has, known
  // for sure: no thread-local storage, no unnamed writable data or code.
  void references_of(SymRef from, bool code) {
    const Unit& u = p_.unit(from.unit);
    const ObjSymbol& s = p_.sym(from);
    CodeContext context = code ? code_of(u.patched, s) : std::nullopt;
    for (const auto& r : relocations_in(u.patched, s.section, s.value, s.size)) {
      if (is_tls(r.type)) {
        refuse(from, fmt::format("uses thread-local storage ('{}'), which patches cannot reach yet; restart the program",
                                 u.syms()[r.symbol].name));
        continue;
      }
      Target t = target_of(u.patched, r, context);
      if (t.kind == Target::Section) {
        const ObjSection& sec = u.patched.sections()[t.index];
        if (sec.is_writable() || sec.is_code())
          refuse(from, fmt::format("{} unnamed {} data at {}+{:#x}; cannot tell which of the program's variables it "
                                   "is; restart the program", code ? "refers to" : "points to",
                                   sec.is_code() ? "code" : "writable", sec.name, t.delta));
        continue;
      }
      used_symbol(from, from.unit, t);
    }
  }

  const Program& p_;
  const Correlation& c_;
  const Changes& changes_;
  const Plan& plan_;
  std::set<SymRef> used_statics_;
  std::set<SymRef> constructors_;
  std::vector<std::string> refusals_;
};

}  // namespace

std::vector<std::string> verify(const Program& program, const Correlation& correlation, const Changes& changes,
                                const Plan& plan) {
  return Verifier(program, correlation, changes, plan).run();
}

}  // namespace hotpatch::creator

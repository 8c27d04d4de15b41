#include "creator/patch_builder.h"

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <hotpatch/patch.h>

#include "arch/arch.h"
#include "common/error.h"
#include "common/paths.h"
#include "elf/unwind_table.h"

namespace hotpatch::creator {

namespace {

bool is_pc_relative(uint32_t type) { return type == R_X86_64_PC32 || type == R_X86_64_PLT32; }
bool is_got_relative(uint32_t type) {
  return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX;
}
bool is_tls(uint32_t type) {
  switch (type) {
    case R_X86_64_TPOFF32: case R_X86_64_TPOFF64: case R_X86_64_GOTTPOFF: case R_X86_64_TLSGD: case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32: case R_X86_64_DTPOFF64: case R_X86_64_GOTPC32_TLSDESC: case R_X86_64_TLSDESC_CALL:
      return true;
    default:
      return false;
  }
}
size_t width_of(uint32_t type) { return type == R_X86_64_64 ? 8 : 4; }

// GCC numbers function-local statics (`calls.1`) and the number may differ between
// two builds; the name without it identifies the variable within one file.
std::string without_number_suffix(const std::string& name) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return name;
  for (size_t i = dot + 1; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return name;
  return name.substr(0, dot);
}

// GCC's hidden indirection cells for exception handling (DW.ref.__gxx_personality_v0,
// DW.ref._ZTI...): one pointer each, which the unwind tables refer to. The patch
// keeps its own, filled with the target's address of the symbol.
bool is_indirection_cell(const std::string& name) { return name.rfind("DW.ref.", 0) == 0; }

bool is_cold_part_of(const std::string& cold, const std::string& hot) {
  return cold.rfind(hot + ".cold", 0) == 0;
}

// What a relocation refers to, in terms that survive a rebuild.
struct Target {
  enum Kind { External, Symbol, Section } kind = External;
  uint32_t index = 0;  // symbol index (External, Symbol) or section index (Section)
  int64_t delta = 0;   // S + A relative to the symbol or section start
  int64_t tail = 0;    // bytes from the relocated field to the end of its instruction
};

}  // namespace

struct PatchBuilder::Unit {
  std::string relpath;
  ObjectFile orig, patched;
  std::string file;  // source file name, for naming its local symbols in the binary
  std::set<uint32_t> included;                 // patched function symbols copied into the patch
  std::map<uint32_t, std::string> replaces;    // patched symbol -> binary symbol it replaces
  std::set<uint32_t> carried_data;             // patched object symbols copied into the patch
  std::set<uint32_t> carried_sections;         // anonymous read-only sections copied whole
  std::map<uint32_t, std::string> orig_name;   // patched object symbol -> its name in the original
  std::map<uint32_t, std::string> labels;      // patched symbol -> label in the patch
  std::set<uint32_t> unredirectable;           // changed, too short for a jump: callers replaced instead
  uint32_t frames_section = 0;                 // the patched object's .eh_frame (0: none)
  std::vector<FrameEntry> frames;              // its CIEs and FDEs for the included functions, in order
  size_t number = 0;

  Unit(std::string r, ObjectFile o, ObjectFile p) : relpath(std::move(r)), orig(std::move(o)), patched(std::move(p)) {}

  // The function symbol whose code holds `r`, and the code bytes.
  Target target_of(const ObjectFile& obj, uint32_t section, const ObjRelocation& r,
                   const std::optional<std::pair<uint64_t, std::span<const uint8_t>>>& code) const {
    Target t;
    const ObjSymbol& sym = obj.symbols()[r.symbol];
    if (code && (is_pc_relative(r.type) || is_got_relative(r.type))) {
      auto end = arch::instruction_end(code->second, r.offset - code->first);
      if (end) t.tail = static_cast<int64_t>(*end - (r.offset - code->first));
      else t.tail = 4;
    }
    if (sym.section == SHN_UNDEF) {
      t.kind = Target::External;
      t.index = r.symbol;
      t.delta = r.addend;
      return t;
    }
    if ((sym.type == STT_FUNC || sym.type == STT_OBJECT) && !sym.name.empty()) {
      t.kind = Target::Symbol;
      t.index = r.symbol;
      t.delta = r.addend;
      return t;
    }
    // A section symbol or a local label: find the named symbol at the address the
    // instruction really uses (S + A + tail; the addend alone is off by the tail).
    int64_t at = static_cast<int64_t>(sym.value) + r.addend;
    uint64_t used = static_cast<uint64_t>(at + (is_pc_relative(r.type) ? t.tail : 0));
    const ObjSymbol* covering = obj.symbol_covering(sym.section, used);
    if (covering) {
      t.kind = Target::Symbol;
      t.index = static_cast<uint32_t>(covering - obj.symbols().data());
      t.delta = at - static_cast<int64_t>(covering->value);
      return t;
    }
    t.kind = Target::Section;
    t.index = sym.section;
    t.delta = at;
    return t;
  }

  // A comparable description of a target: equal strings mean the same thing.
  std::string key(const ObjectFile& obj, const Target& t) const {
    const auto& syms = obj.symbols();
    switch (t.kind) {
      case Target::External:
        return fmt::format("ext:{}{:+}", syms[t.index].name, t.delta);
      case Target::Symbol: {
        const ObjSymbol& s = syms[t.index];
        std::string name = s.bind == STB_LOCAL && s.type == STT_OBJECT ? without_number_suffix(s.name) : s.name;
        return fmt::format("sym:{}{:+}", name, t.delta);
      }
      case Target::Section: {
        const ObjSection& sec = obj.sections()[t.index];
        uint64_t used = static_cast<uint64_t>(t.delta + t.tail);
        if ((sec.flags & SHF_STRINGS) && used < sec.data.size()) {
          const char* str = reinterpret_cast<const char*>(sec.data.data() + used);
          size_t len = strnlen(str, sec.data.size() - used);
          return fmt::format("str:{}:{}", std::string(str, len), t.tail);
        }
        if ((sec.flags & SHF_MERGE) && sec.data.size() >= used) {
          // A pooled constant (.rodata.cst8...): what matters is its value.
          size_t entry = std::max<size_t>(1, std::min<size_t>(32, sec.data.size() - used));
          std::string hex;
          for (size_t k = 0; k < entry && k < 32; ++k) hex += fmt::format("{:02x}", sec.data[used + k]);
          return fmt::format("const:{}:{}", hex, t.delta - static_cast<int64_t>(used));
        }
        // Other unnamed read-only data (jump tables, anonymous arrays): the same only
        // if the whole section is, content and the shape of its relocations.
        std::string shape = std::to_string(std::hash<std::string_view>{}(
            std::string_view(reinterpret_cast<const char*>(sec.data.data()), sec.data.size())));
        for (const auto& r : obj.relocations(t.index)) shape += fmt::format(";{}:{}", r.offset, r.type);
        return fmt::format("sec:{}@{}#{}", sec.name, t.delta, std::hash<std::string>{}(shape));
      }
    }
    return "";
  }

  std::span<const uint8_t> bytes_of(const ObjectFile& obj, const ObjSymbol& s) const {
    const ObjSection& sec = obj.sections()[s.section];
    if (sec.data.empty() || s.value + s.size > sec.data.size()) return {};
    return std::span<const uint8_t>(sec.data).subspan(s.value, s.size);
  }

  // Relocations inside [start, start+size) of a section.
  std::vector<ObjRelocation> relocations_in(const ObjectFile& obj, uint32_t section, uint64_t start, uint64_t size) const {
    std::vector<ObjRelocation> out;
    for (const auto& r : obj.relocations(section))
      if (r.offset >= start && r.offset < start + size) out.push_back(r);
    return out;
  }

  // Both symbols' bytes with their relocated fields zeroed, if every relocation
  // means the same thing in both (same place, type and target); nullopt otherwise.
  std::optional<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> masked_if_same_references(
      const ObjSymbol& a, const ObjSymbol& b, bool code) const {
    if (a.size != b.size) return std::nullopt;
    auto ba = bytes_of(orig, a), bb = bytes_of(patched, b);
    if (ba.size() != bb.size()) return std::nullopt;
    auto ra = relocations_in(orig, a.section, a.value, a.size);
    auto rb = relocations_in(patched, b.section, b.value, b.size);
    if (ra.size() != rb.size()) return std::nullopt;
    std::vector<uint8_t> ma(ba.begin(), ba.end()), mb(bb.begin(), bb.end());
    for (size_t i = 0; i < ra.size(); ++i) {
      if (ra[i].offset - a.value != rb[i].offset - b.value || ra[i].type != rb[i].type) return std::nullopt;
      std::optional<std::pair<uint64_t, std::span<const uint8_t>>> ca, cb;
      if (code) {
        ca = std::make_pair(a.value, ba);
        cb = std::make_pair(b.value, bb);
      }
      if (key(orig, target_of(orig, a.section, ra[i], ca)) != key(patched, target_of(patched, b.section, rb[i], cb)))
        return std::nullopt;
      size_t at = ra[i].offset - a.value, w = width_of(ra[i].type);
      for (size_t k = 0; k < w && at + k < ma.size(); ++k) ma[at + k] = mb[at + k] = 0;
    }
    return std::make_pair(std::move(ma), std::move(mb));
  }

  // Same code and same references, in both objects?
  bool same(const ObjSymbol& a, const ObjSymbol& b, bool code) const {
    auto masked = masked_if_same_references(a, b, code);
    return masked && masked->first == masked->second;
  }

  const ObjSymbol* counterpart(const ObjSymbol& s) const {
    if (const ObjSymbol* o = orig.find_defined(s.name, s.type)) return o;
    if (s.bind != STB_LOCAL || s.type != STT_OBJECT) return nullptr;
    const ObjSymbol* found = nullptr;
    for (const auto& o : orig.symbols()) {
      if (o.type != STT_OBJECT || o.section == SHN_UNDEF || without_number_suffix(o.name) != without_number_suffix(s.name)) continue;
      if (found) return nullptr;  // ambiguous
      found = &o;
    }
    return found;
  }
};

LineMoves parse_line_moves(const std::string& diff_text) {
  LineMoves moves;
  std::string file;
  size_t pos = 0;
  while (pos < diff_text.size()) {
    size_t end = diff_text.find('\n', pos);
    if (end == std::string::npos) end = diff_text.size();
    std::string line = diff_text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("+++ ", 0) == 0) {
      std::string path = line.substr(4);
      path = path.substr(0, path.find('\t'));
      file = base_name(path);
    } else if (line.rfind("@@ -", 0) == 0 && !file.empty()) {
      long os = 0, ol = 1, ns = 0, nl = 1;
      if (std::sscanf(line.c_str(), "@@ -%ld,%ld +%ld,%ld", &os, &ol, &ns, &nl) < 4) {
        // "@@ -5 +5,2 @@" and similar: a missing length is 1.
        ol = nl = 1;
        if (std::sscanf(line.c_str(), "@@ -%ld,%ld +%ld", &os, &ol, &ns) < 3 &&
            std::sscanf(line.c_str(), "@@ -%ld +%ld,%ld", &os, &ns, &nl) < 3)
          std::sscanf(line.c_str(), "@@ -%ld +%ld", &os, &ns);
      }
      moves[file].push_back({os, ol, nl});
    }
  }
  return moves;
}

PatchBuilder::PatchBuilder(const ElfImage& binary, LineMoves moves) : binary_(binary), moves_(std::move(moves)) {}
PatchBuilder::~PatchBuilder() = default;

void PatchBuilder::add_unit(const std::string& relpath, ObjectFile orig, ObjectFile patched) {
  auto unit = std::make_unique<Unit>(relpath, std::move(orig), std::move(patched));
  unit->file = unit->patched.source_file();
  unit->number = units_.size();
  analyse(*unit);
  units_.push_back(std::move(unit));
}

bool PatchBuilder::only_moved_lines(const Unit& u, const ObjSymbol& before, const ObjSymbol& after) const {
  auto it = moves_.find(base_name(u.file));
  if (it == moves_.end()) return false;
  const auto& hunks = it->second;
  // Same references; the code may then differ only in immediates.
  auto masked = u.masked_if_same_references(before, after, true);
  if (!masked) return false;
  const auto& [ma, mb] = *masked;
  auto diffs = arch::immediate_differences(ma, mb);
  if (!diffs || diffs->empty()) return false;
  // Every differing immediate must be an old line number outside the diff's hunks
  // that moved by exactly the lines the hunks above it added or removed.
  for (const auto& [old_value, new_value] : *diffs) {
    int64_t shift = 0;
    for (const auto& h : hunks) {
      if (old_value >= h.old_start && old_value < h.old_start + h.old_length) return false;  // a changed line
      if (h.old_start + h.old_length <= old_value) shift += h.new_length - h.old_length;
    }
    if (old_value <= 0 || shift == 0 || new_value != old_value + shift) return false;
  }
  return true;
}

std::optional<uint64_t> PatchBuilder::function_size_in_binary(const Unit& u, const ObjSymbol& s) const {
  for (const ElfSymbol* b : binary_.find_symbols(s.name)) {
    if (b->type != STT_FUNC || b->section_index == SHN_UNDEF) continue;
    if (s.bind == STB_LOCAL && (b->bind != STB_LOCAL || base_name(b->source_file) != base_name(u.file))) continue;
    if (b->size < arch::kNearJumpSize + 4) {
      // Big enough only without endbr64? Look at the entry to decide.
      auto entry = binary_.read_vaddr(b->value, std::min<uint64_t>(b->size, 8));
      if (entry && b->size >= arch::entry_prologue_to_keep(*entry) + arch::kNearJumpSize) return arch::kNearJumpSize + 4;
    }
    return b->size;
  }
  return std::nullopt;
}

void PatchBuilder::analyse(Unit& u) {
  const auto& syms = u.patched.symbols();
  auto where = [&](const ObjSymbol& s) { return fmt::format("{} ({})", s.name, u.file); };
  std::set<uint32_t> changed_functions, new_functions, changed_constants;
  auto is_startup = [&](const ObjSymbol& s) {
    return s.name == "main" || u.patched.sections()[s.section].name.rfind(".text.startup", 0) == 0;
  };
  auto refuse_startup = [&](const ObjSymbol& s) {
    report_.refused.push_back(fmt::format("{}: changed, but it is start-up code (or main, which never returns): a "
                                          "running process will not run it again", where(s)));
  };

  for (uint32_t i = 0; i < syms.size(); ++i) {
    const ObjSymbol& s = syms[i];
    if (s.section == SHN_UNDEF || s.section >= u.patched.sections().size() || s.name.empty()) continue;
    const ObjSection& sec = u.patched.sections()[s.section];
    if (s.type == STT_FUNC) {
      const ObjSymbol* o = u.orig.find_defined(s.name, STT_FUNC);
      if (!o) {
        new_functions.insert(i);
      } else if (!u.same(*o, s, true)) {
        if (only_moved_lines(u, *o, s)) {
          report_.line_noise.push_back(where(s));
          continue;
        }
        if (is_startup(s)) {
          refuse_startup(s);
        } else {
          changed_functions.insert(i);
        }
      }
    } else if (s.type == STT_OBJECT && sec.is_allocated()) {
      const ObjSymbol* o = u.counterpart(s);
      if (!o) continue;  // new: carried only if changed code uses it
      u.orig_name[i] = o->name;
      if (o->size != s.size) {
        report_.refused.push_back(fmt::format("{}: its size changed from {} to {} bytes (data layout); existing "
                                              "data cannot be resized in a running process", where(s), o->size, s.size));
      } else if (!u.same(*o, s, false)) {
        if (sec.is_writable())
          report_.refused.push_back(fmt::format("{}: its initial value changed; a running process already has its "
                                                "own value, which a patch does not re-initialise", where(s)));
        else
          changed_constants.insert(i);
      }
    }
  }

  // A .cold part is no function of its own: the hot part jumps into it, and the
  // unwinder lands in it (catch clauses and cleanups often live there). When only
  // the cold part changed, the hot function is the one to redirect; both travel
  // together below.
  for (uint32_t f : std::set<uint32_t>(changed_functions)) {
    if (syms[f].name.find(".cold") == std::string::npos) continue;
    for (uint32_t i = 0; i < syms.size(); ++i) {
      if (syms[i].type != STT_FUNC || syms[i].section == SHN_UNDEF || i == f || !is_cold_part_of(syms[f].name, syms[i].name))
        continue;
      changed_functions.erase(f);
      if (is_startup(syms[i])) refuse_startup(syms[i]);
      else changed_functions.insert(i);
      break;
    }
  }

  // The functions of this file that refer to symbol `index`.
  auto readers_of = [&](uint32_t index) {
    std::vector<uint32_t> readers;
    for (uint32_t i = 0; i < syms.size(); ++i) {
      if (syms[i].type != STT_FUNC || syms[i].section == SHN_UNDEF) continue;
      auto bytes = u.bytes_of(u.patched, syms[i]);
      for (const auto& r : u.relocations_in(u.patched, syms[i].section, syms[i].value, syms[i].size)) {
        Target t = u.target_of(u.patched, syms[i].section, r, std::make_pair(syms[i].value, bytes));
        if (t.kind == Target::Symbol && t.index == index) {
          readers.push_back(i);
          break;
        }
      }
    }
    return readers;
  };
  // A changed constant is carried, and every function that reads it must read the
  // new one, so it changes too.
  for (uint32_t c : changed_constants) {
    u.carried_data.insert(c);
    for (uint32_t reader : readers_of(c)) changed_functions.insert(reader);
  }
  // A changed function too short for a jump (a 4-byte constprop clone, say) cannot
  // be redirected: its callers change instead, to call the new copy. That is only
  // complete when all its callers are in this file, i.e. when it is file-local.
  for (bool grew = true; grew;) {
    grew = false;
    for (uint32_t f : std::set<uint32_t>(changed_functions)) {
      if (u.unredirectable.count(f) || !u.orig.find_defined(syms[f].name, STT_FUNC)) continue;
      // Sizes as in the program people run, which was built without our flags: there
      // a tail call to a neighbour can be a 2-byte jump.
      auto size = function_size_in_binary(u, syms[f]);
      if (!size || *size >= arch::kNearJumpSize + 4 /* room for endbr64 too */) continue;
      if (syms[f].bind != STB_LOCAL) {
        report_.refused.push_back(fmt::format("{}: changed, but it is {} bytes in the program, too short for a jump, and "
                                              "other files may call it", where(syms[f]), *size));
        changed_functions.erase(f);
        continue;
      }
      u.unredirectable.insert(f);
      for (uint32_t caller : readers_of(f)) grew |= changed_functions.insert(caller).second;
    }
  }

  // Everything the changed code needs, to a fixed point: new functions it calls,
  // .cold parts, changed constants.
  std::vector<uint32_t> work(changed_functions.begin(), changed_functions.end());
  while (!work.empty()) {
    uint32_t f = work.back();
    work.pop_back();
    if (!u.included.insert(f).second) continue;
    const ObjSymbol& fs = syms[f];
    for (uint32_t i = 0; i < syms.size(); ++i) {  // hot and cold parts travel together
      if (syms[i].type != STT_FUNC || syms[i].section == SHN_UNDEF || i == f) continue;
      if (is_cold_part_of(syms[i].name, fs.name) || is_cold_part_of(fs.name, syms[i].name)) work.push_back(i);
    }
    auto bytes = u.bytes_of(u.patched, fs);
    for (const auto& r : u.relocations_in(u.patched, fs.section, fs.value, fs.size)) {
      if (is_tls(r.type)) {
        report_.refused.push_back(fmt::format("{}: uses thread-local storage ('{}'), which patches cannot reach yet",
                                              where(fs), syms[r.symbol].name));
        continue;
      }
      Target t = u.target_of(u.patched, fs.section, r, std::make_pair(fs.value, bytes));
      if (t.kind == Target::Symbol) {
        const ObjSymbol& ts = syms[t.index];
        if (ts.type == STT_FUNC && new_functions.count(t.index)) work.push_back(t.index);
        if (ts.type == STT_OBJECT && !u.counterpart(ts)) u.carried_data.insert(t.index);
      } else if (t.kind == Target::Section) {
        const ObjSection& sec = u.patched.sections()[t.index];
        if (sec.is_writable() || sec.is_code())
          report_.refused.push_back(fmt::format("{}: refers to unnamed {} data at {}+{:#x}; cannot tell which variable",
                                                where(fs), sec.is_code() ? "code" : "writable", sec.name, t.delta));
        else
          u.carried_sections.insert(t.index);
      }
    }
  }
  // The unwind tables of the included functions (FDE, its CIE, the catch tables it
  // points to), so that exceptions can be thrown in and through patched code.
  for (uint32_t i = 0; i < u.patched.sections().size(); ++i)
    if (u.patched.sections()[i].name == ".eh_frame") u.frames_section = i;
  auto carry_reference = [&](const Target& t) {
    if (t.kind == Target::Section && !u.patched.sections()[t.index].is_writable() && !u.patched.sections()[t.index].is_code())
      u.carried_sections.insert(t.index);
    if (t.kind == Target::Symbol && syms[t.index].type == STT_OBJECT && is_indirection_cell(syms[t.index].name))
      u.carried_data.insert(t.index);
  };
  if (u.frames_section) {
    const ObjSection& eh = u.patched.sections()[u.frames_section];
    auto entries = parse_unwind_table(eh.data, u.relpath).entries;
    std::set<uint64_t> kept;  // offsets of the entries to copy
    for (const auto& e : entries) {
      if (e.is_cie) continue;
      for (const auto& r : u.relocations_in(u.patched, u.frames_section, e.offset + 8, 4)) {  // pc_begin
        Target t = u.target_of(u.patched, u.frames_section, r, std::nullopt);
        if (t.kind == Target::Symbol && u.included.count(t.index)) {
          kept.insert(e.offset);
          kept.insert(e.cie_offset);
        }
      }
    }
    for (const auto& e : entries) {
      if (!kept.count(e.offset)) continue;
      u.frames.push_back(e);
      for (const auto& r : u.relocations_in(u.patched, u.frames_section, e.offset, e.size))
        carry_reference(u.target_of(u.patched, u.frames_section, r, std::nullopt));
    }
  }
  // Carried sections and data have references of their own (jump tables, pointers,
  // the type_info cells of catch tables).
  for (uint32_t sec : std::set<uint32_t>(u.carried_sections))
    for (const auto& r : u.patched.relocations(sec)) carry_reference(u.target_of(u.patched, sec, r, std::nullopt));

  for (uint32_t f : u.included) {
    const ObjSymbol& s = syms[f];
    if (changed_functions.count(f) && !u.unredirectable.count(f)) {
      // The binary names this function as the original object did; a local one is
      // qualified with its source file, since several files may have one.
      u.replaces[f] = s.bind == STB_LOCAL ? u.file + "::" + s.name : s.name;
      report_.changed.push_back(where(s));
    } else if (u.unredirectable.count(f)) {
      report_.added_functions.push_back(where(s) + ", changed but too short for a jump: its callers are replaced");
    } else if (u.orig.find_defined(s.name, STT_FUNC)) {
      report_.added_functions.push_back(where(s) + ", carried with the function it belongs to");
    } else {
      report_.added_functions.push_back(where(s));
    }
  }
  for (uint32_t d : u.carried_data)
    if (!is_indirection_cell(syms[d].name)) report_.added_data.push_back(where(syms[d]));
}

namespace {

// Collects the assembly text, and the records that go into .hotpatch.
class AsmWriter {
 public:
  std::string text;
  size_t next_label = 0;

  std::string fresh(const std::string& what) { return fmt::format(".Lhp_{}{}", what, next_label++); }
  void line(const std::string& s) { text += s + "\n"; }
  void bytes(std::span<const uint8_t> b) {
    for (size_t i = 0; i < b.size(); i += 16) {
      std::string l = "\t.byte ";
      for (size_t k = i; k < b.size() && k < i + 16; ++k) l += fmt::format("{}{:#04x}", k == i ? "" : ",", b[k]);
      line(l);
    }
  }
  std::string string_label(const std::string& s) {
    auto it = strings_.find(s);
    if (it != strings_.end()) return it->second;
    std::string label = fresh("str");
    strings_[s] = label;
    return label;
  }
  void record(uint16_t kind, const std::string& name, const std::string& addr_expr, uint64_t reserved = 0) {
    records_ += "\t.balign 8\n";
    records_ += fmt::format("\t.long {:#x}\n\t.short {}, {}\n", HOTPATCH_RECORD_MAGIC, HOTPATCH_FORMAT_VERSION, kind);
    records_ += fmt::format("\t.quad {}\n\t.quad {}\n", string_label(name), addr_expr.empty() ? "0" : addr_expr);
    records_ += fmt::format("\t.quad {:#x}\n", reserved);
  }
  size_t unwind_entries = 0;  // FDEs written to .eh_frame

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
  std::string records_;
  std::map<std::string, std::string> strings_;
};

}  // namespace

std::string PatchBuilder::assembly(const std::string& id, const std::string& description, const std::string& build_id,
                                   const std::string& object) const {
  AsmWriter w;
  w.line("\t.text");
  w.record(HOTPATCH_KIND_ID, id, "");
  if (!description.empty()) w.record(HOTPATCH_KIND_DESCRIPTION, description, "");
  if (!build_id.empty()) w.record(HOTPATCH_KIND_BUILD_ID, build_id, "");
  if (!object.empty()) w.record(HOTPATCH_KIND_OBJECT, object, "");
  w.record(HOTPATCH_KIND_LINK_NEAR, "near", "");

  // Labels for everything the patch carries, so references can find each other.
  std::map<std::string, int> label_uses;
  for (const auto& u : units_)
    for (uint32_t f : u->included) ++label_uses[u->patched.symbols()[f].name];
  for (const auto& u : units_) {
    for (uint32_t f : u->included) {
      const std::string& name = u->patched.symbols()[f].name;
      u->labels[f] = label_uses[name] > 1 ? fmt::format("{}.hotpatch.{}", name, u->number) : name + ".hotpatch";
    }
    for (uint32_t d : u->carried_data) u->labels[d] = fmt::format(".Lhp_data{}_{}", u->number, d);
  }
  std::map<std::string, std::string> plt, got;  // external symbol -> stub / slot label

  for (const auto& up : units_) {
    const Unit& u = *up;
    const auto& syms = u.patched.symbols();
    auto section_label = [&](uint32_t sec) { return fmt::format(".Lhp_sec{}_{}", u.number, sec); };
    // The binary's name for a symbol of this unit (qualified when file-local).
    auto binary_name = [&](uint32_t index) {
      const ObjSymbol& s = syms[index];
      std::string name = s.name;
      if (auto it = u.orig_name.find(index); it != u.orig_name.end()) name = it->second;
      return s.bind == STB_LOCAL && s.section != SHN_UNDEF ? u.file + "::" + name : name;
    };
    auto defined_in_binary = [&](const std::string& name) {
      std::string plain = name.substr(name.find("::") == std::string::npos ? 0 : name.find("::") + 2);
      for (const ElfSymbol* s : binary_.find_symbols(plain))
        if (s->section_index != SHN_UNDEF) return true;
      return false;
    };
    auto slot_for = [&](const std::string& symbol) {
      auto [it, fresh] = got.emplace(symbol, "");
      if (fresh) it->second = w.fresh("got");
      return it->second;
    };

    // Emits [start, start+size) of `section` with its relocations re-expressed.
    auto emit = [&](uint32_t section, uint64_t start, uint64_t size, bool code) {
      const ObjSection& sec = u.patched.sections()[section];
      std::span<const uint8_t> original(sec.data);
      auto relocs = u.relocations_in(u.patched, section, start, size);
      auto context_of = [&]() {
        std::optional<std::pair<uint64_t, std::span<const uint8_t>>> ctx;
        if (code) ctx = std::make_pair(start, original.subspan(start, size));
        return ctx;
      };
      auto local_of = [&](const Target& t) -> std::string {  // the target inside the patch, if it is there
        if (t.kind == Target::Symbol && u.labels.count(t.index)) return u.labels.at(t.index);
        if (t.kind == Target::Section && u.carried_sections.count(t.index)) return section_label(t.index);
        return "";
      };
      // The compiler may take the address of a library's variable PC-relatively (a
      // PIE expects a copy relocation); the patch cannot reach the library, so the
      // `lea` becomes a load of the address from a slot of the patch's own.
      std::vector<uint8_t> rewritten(sec.data);
      std::set<uint64_t> through_slot;
      for (const auto& r : relocs) {
        if (!code || r.type != R_X86_64_PC32) continue;
        Target t = u.target_of(u.patched, section, r, context_of());
        bool named = t.kind == Target::Symbol || t.kind == Target::External;
        if (!named || t.delta + t.tail != 0 /* not the symbol's own address */ || !local_of(t).empty() ||
            defined_in_binary(binary_name(t.index)))
          continue;
        if (arch::rip_lea_to_slot_load(rewritten, r.offset)) through_slot.insert(r.offset);
      }
      std::span<const uint8_t> all(rewritten);
      uint64_t at = start;
      for (const auto& r : relocs) {
        if (r.offset < at) continue;  // overlapping relocations: keep the first
        if (sec.type != SHT_NOBITS) w.bytes(all.subspan(at, r.offset - at));
        Target t = u.target_of(u.patched, section, r, context_of());
        std::string local = local_of(t);
        std::string place = w.fresh("place");
        w.line(place + ":");
        const char* dir = width_of(r.type) == 8 ? ".quad" : ".long";
        if (is_tls(r.type)) {
          w.line(fmt::format("\t{} 0", dir));  // refused in analyse()
        } else if (is_got_relative(r.type)) {
          std::string target = !local.empty() ? local + fmt::format("{:+}", t.delta) : binary_name(t.index);
          std::string slot = slot_for(target);
          w.line(fmt::format("\t.long {} + ({}) - .", slot, r.addend));
          if (!local.empty()) got[target] = slot;  // defined below with the local value
        } else if (!local.empty()) {
          if (is_pc_relative(r.type)) w.line(fmt::format("\t.long {} + ({}) - .", local, t.delta));
          else if (r.type == R_X86_64_64) w.line(fmt::format("\t.quad {} + ({})", local, t.delta));
          else if (r.type == R_X86_64_PC64) w.line(fmt::format("\t.quad {} + ({}) - .", local, t.delta));
          else throw Error(ErrorKind::DoesNotFit, fmt::format("{}: relocation type {} to code or data of the patch "
                                                               "is not supported", u.relpath, r.type));
        } else {
          std::string name = t.kind == Target::Section ? "" : binary_name(t.index);
          if (name.empty())
            throw Error(ErrorKind::DoesNotFit, fmt::format("{}: reference to unnamed data in {} cannot be resolved in "
                                                           "the binary", u.relpath, u.patched.sections()[t.index].name));
          bool in_binary = defined_in_binary(name);
          if (!in_binary && r.type == R_X86_64_PLT32) {
            // A library function: call it through a stub and a slot of our own.
            auto [it, fresh] = plt.emplace(name, "");
            if (fresh) it->second = w.fresh("plt");
            w.line(fmt::format("\t.long {} + ({}) - .", it->second, t.delta));
          } else if (through_slot.count(r.offset)) {
            w.line(fmt::format("\t.long {} + ({}) - .", slot_for(name), r.addend));
          } else if (!in_binary && r.type == R_X86_64_PC32) {
            throw Error(ErrorKind::DoesNotFit, fmt::format("{}: refers to '{}' PC-relatively, but the program does not "
                                                           "define it", u.relpath, name));
          } else {
            w.line(fmt::format("\t{} 0", dir));
            w.record(HOTPATCH_KIND_TARGET_RELOC, name, place,
                     uint64_t{r.type} | (uint64_t{static_cast<uint32_t>(static_cast<int32_t>(t.delta))} << 32));
          }
        }
        at = r.offset + width_of(r.type);
      }
      if (sec.type == SHT_NOBITS) {
        w.line(fmt::format("\t.zero {}", start + size - at));
      } else if (at < start + size) {
        w.bytes(all.subspan(at, start + size - at));
      }
    };

    auto log2 = [](uint64_t a) { int n = 0; while ((uint64_t{1} << n) < a) ++n; return n; };
    for (uint32_t f : u.included) {
      const ObjSymbol& s = syms[f];
      const std::string& label = u.labels.at(f);
      w.line(fmt::format("\t.section .text.hotpatch.{}.{},\"ax\",@progbits", u.number, f));
      w.line(fmt::format("\t.p2align {}", log2(u.patched.sections()[s.section].align)));
      w.line(fmt::format("\t.type {}, @function", label));
      w.line(label + ":");
      emit(s.section, s.value, s.size, true);
      w.line(fmt::format("\t.size {}, . - {}", label, label));
      if (auto it = u.replaces.find(f); it != u.replaces.end()) w.record(HOTPATCH_KIND_REPLACE, it->second, label);
    }
    for (uint32_t d : u.carried_data) {
      const ObjSymbol& s = syms[d];
      const ObjSection& sec = u.patched.sections()[s.section];
      w.line(fmt::format("\t.section {}.hotpatch.{}.{},\"a{}\",{}", sec.is_writable() ? ".data" : ".rodata", u.number, d,
                         sec.is_writable() ? "w" : "", sec.type == SHT_NOBITS ? "@nobits" : "@progbits"));
      w.line(fmt::format("\t.p2align {}", log2(sec.align)));
      w.line(u.labels.at(d) + ":");
      emit(s.section, s.value, s.size, false);
    }
    for (uint32_t sec_index : u.carried_sections) {
      const ObjSection& sec = u.patched.sections()[sec_index];
      w.line(fmt::format("\t.section .rodata.hotpatch.{}.s{},\"a\",@progbits", u.number, sec_index));
      w.line(fmt::format("\t.p2align {}", log2(sec.align)));
      w.line(section_label(sec_index) + ":");
      emit(sec_index, 0, sec.size, false);
    }
    // Unwind entries byte for byte, references re-expressed like the code's; only
    // an FDE's pointer to its CIE, an offset within the section, is recomputed.
    if (!u.frames.empty()) {
      auto cie_label = [&](uint64_t offset) { return fmt::format(".Lhp_cie{}_{}", u.number, offset); };
      std::span<const uint8_t> eh(u.patched.sections()[u.frames_section].data);
      w.line("\t.section .eh_frame,\"a\",@unwind");
      for (const auto& e : u.frames) {
        if (e.is_cie) {
          w.line(cie_label(e.offset) + ":");
          emit(u.frames_section, e.offset, e.size, false);
          continue;
        }
        w.bytes(eh.subspan(e.offset, 4));
        std::string pointer = w.fresh("cie_pointer");
        w.line(pointer + ":");
        w.line(fmt::format("\t.long {} - {}", pointer, cie_label(e.cie_offset)));
        emit(u.frames_section, e.offset + 8, e.size - 8, false);
        ++w.unwind_entries;
      }
    }
  }

  // Library functions and addresses taken through the GOT: slots filled at apply time.
  w.line("\t.section .text.hotpatch.plt,\"ax\",@progbits");
  for (const auto& [name, stub] : plt) {
    std::string slot = got.count(name) ? got[name] : (got[name] = w.fresh("got"));
    w.line("\t.p2align 3");
    w.line(stub + ":");
    w.line(fmt::format("\tjmp *{}(%rip)", slot));
  }
  w.line("\t.section .data.hotpatch.got,\"aw\",@progbits");
  w.line("\t.p2align 3");
  for (const auto& [target, slot] : got) {
    w.line(slot + ":");
    bool local = target.rfind(".Lhp_", 0) == 0 || target.find(".hotpatch") != std::string::npos;
    if (local) {
      w.line(fmt::format("\t.quad {}", target));
    } else {
      w.line("\t.quad 0");
      w.record(HOTPATCH_KIND_TARGET_RELOC, target, slot, R_X86_64_64);
    }
  }
  return w.finish();
}

}  // namespace hotpatch::creator

#include "creator/program.h"

#include <cxxabi.h>
#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "arch/arch.h"

namespace hotpatch::creator {

Unit::Unit(std::string r, ObjectFile o, ObjectFile p) : relpath(std::move(r)), orig(std::move(o)), patched(std::move(p)) {
  file = patched.source_file();
}

std::string Unit::where(const ObjSymbol& s) const { return fmt::format("{} ({})", s.name, file); }

size_t Program::load_unchanged() {
  size_t before = units.size();
  if (unchanged_loaded) return before;
  unchanged_loaded = true;
  for (const auto& [relpath, path] : unchanged_paths) {
    ObjectFile obj = ObjectFile::read(path);
    auto u = std::make_unique<Unit>(relpath, obj, obj);
    u->number = static_cast<uint32_t>(units.size());
    u->unchanged = true;
    units.push_back(std::move(u));
  }
  return before;
}

bool is_pc_relative(uint32_t type) { return type == R_X86_64_PC32 || type == R_X86_64_PLT32; }
bool is_got_relative(uint32_t type) {
  return type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX;
}
bool is_absolute32(uint32_t type) { return type == R_X86_64_32 || type == R_X86_64_32S; }
bool is_tls(uint32_t type) {
  switch (type) {
    case R_X86_64_TPOFF32: case R_X86_64_TPOFF64: case R_X86_64_GOTTPOFF: case R_X86_64_TLSGD: case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32: case R_X86_64_DTPOFF64: case R_X86_64_GOTPC32_TLSDESC: case R_X86_64_TLSDESC_CALL:
      return true;
    default:
      return false;
  }
}
size_t width_of(uint32_t type) {
  switch (type) {
    case R_X86_64_64: case R_X86_64_PC64: case R_X86_64_GOTOFF64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64:
      return 8;
    case R_X86_64_NONE: case R_X86_64_TLSDESC_CALL:
      return 0;
    default:
      return 4;
  }
}

bool has_number_suffix(const std::string& name, std::string* base) {
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == name.size()) return false;
  for (size_t i = dot + 1; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  if (base) *base = name.substr(0, dot);
  return true;
}

std::string readable_name(const std::string& name) {
  if (!name.starts_with("_Z")) return name;
  int status = 0;
  char* out = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string result = status == 0 && out ? out : name;
  std::free(out);
  return result;
}

bool is_indirection_cell(const std::string& name) { return name.starts_with("DW.ref."); }

bool is_cold_part_of(const std::string& cold, const std::string& hot) { return cold.starts_with(hot + ".cold"); }

bool is_defined_function(const ObjSymbol& s) { return s.type == STT_FUNC && s.section != SHN_UNDEF && !s.name.empty(); }
bool is_defined_object(const ObjSymbol& s) {
  return s.type == STT_OBJECT && s.section != SHN_UNDEF && s.section < SHN_LORESERVE && !s.name.empty();
}

std::set<uint32_t> constructors_of(const ObjectFile& obj) {
  std::set<uint32_t> out;
  const auto& sections = obj.sections();
  for (uint32_t i = 0; i < sections.size(); ++i) {
    const std::string& n = sections[i].name;
    if (!n.starts_with(".init_array") && !n.starts_with(".preinit_array") && !n.starts_with(".ctors")) continue;
    for (const auto& r : obj.relocations(i)) {
      Target t = target_of(obj, r, std::nullopt);
      if (t.kind == Target::Symbol && obj.symbols()[t.index].type == STT_FUNC) out.insert(t.index);
    }
  }
  return out;
}

Target target_of(const ObjectFile& obj, const ObjRelocation& r, const CodeContext& code) {
  Target t;
  const ObjSymbol& sym = obj.symbols()[r.symbol];
  if (code && (is_pc_relative(r.type) || is_got_relative(r.type))) {
    auto end = arch::instruction_end(code->second, r.offset - code->first);
    t.tail = end ? static_cast<int64_t>(*end - (r.offset - code->first)) : 4;
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
  if (const ObjSymbol* covering = obj.symbol_covering(sym.section, used)) {
    t.kind = Target::Symbol;
    t.index = static_cast<uint32_t>(covering - obj.symbols().data());
    t.delta = at - static_cast<int64_t>(covering->value);
    return t;
  }
  // Data that refers into code relative to itself: a switch's jump table holds
  // `.L5 - table`, a PC32 relocation whose addend also counts the entry's offset in
  // the table, so S + A may lie past the function's end. In a section of one
  // function (-ffunction-sections) it is that function, at the same offset: the
  // copy in the patch keeps the layout, and the same expression means the same.
  if (!code && sym.section < obj.sections().size() && obj.sections()[sym.section].is_code()) {
    const ObjSymbol* only = nullptr;
    int functions = 0;
    for (const auto& s : obj.symbols())
      if (s.section == sym.section && s.type == STT_FUNC && !s.name.empty() && (!only || only->value != s.value)) {
        only = &s;
        ++functions;
      }
    if (functions == 1) {
      t.kind = Target::Symbol;
      t.index = static_cast<uint32_t>(only - obj.symbols().data());
      t.delta = at - static_cast<int64_t>(only->value);
      return t;
    }
  }
  t.kind = Target::Section;
  t.index = sym.section;
  t.delta = at;
  return t;
}

std::span<const uint8_t> bytes_of(const ObjectFile& obj, const ObjSymbol& s) {
  if (s.section >= obj.sections().size()) return {};
  const ObjSection& sec = obj.sections()[s.section];
  if (sec.data.empty() || s.value + s.size > sec.data.size()) return {};
  return std::span<const uint8_t>(sec.data).subspan(s.value, s.size);
}

std::vector<ObjRelocation> relocations_in(const ObjectFile& obj, uint32_t section, uint64_t start, uint64_t size) {
  std::vector<ObjRelocation> out;
  for (const auto& r : obj.relocations(section))
    if (r.offset >= start && r.offset < start + size) out.push_back(r);
  return out;
}

CodeContext code_of(const ObjectFile& obj, const ObjSymbol& s) { return std::make_pair(s.value, bytes_of(obj, s)); }

std::string unnamed_key(const ObjectFile& obj, const Target& t) {
  if (t.kind != Target::Section) return "";
  const ObjSection& sec = obj.sections()[t.index];
  uint64_t used = static_cast<uint64_t>(t.delta + t.tail);
  if ((sec.flags & SHF_STRINGS) && used < sec.data.size()) {
    const char* str = reinterpret_cast<const char*>(sec.data.data() + used);
    size_t len = strnlen(str, sec.data.size() - used);
    return fmt::format("str:{}:{}", std::string(str, len), t.tail);
  }
  if ((sec.flags & SHF_MERGE) && sec.data.size() > used) {
    // A pooled constant (.rodata.cst8...): what matters is its value, entry-sized.
    size_t entry = std::clamp<size_t>(sec.data.size() - used, 1, 32);
    std::string hex;
    for (size_t k = 0; k < entry; ++k) hex += fmt::format("{:02x}", sec.data[used + k]);
    return fmt::format("const:{}:{}", hex, t.delta - static_cast<int64_t>(used));
  }
  // Other unnamed read-only data (jump tables, anonymous arrays): the same only if
  // the whole section is, content and the shape of its relocations.
  std::string shape(reinterpret_cast<const char*>(sec.data.data()), sec.data.size());
  for (const auto& r : obj.relocations(t.index)) shape += fmt::format(";{}:{}:{}", r.offset, r.type, r.addend);
  return fmt::format("sec:{}@{}#{}:{}", sec.name, t.delta, sec.size, std::hash<std::string>{}(shape));
}

}  // namespace hotpatch::creator

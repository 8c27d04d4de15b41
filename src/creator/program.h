// The program the Creator patches, as the passes see it: every translation unit
// whose object changed (its object before and after the fix), plus unchanged
// units read only when a pass needs them (readers of a changed constant), and the
// running program's binary. Also what a relocation "means" (Target), in terms
// that survive a rebuild: the vocabulary every pass shares.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "creator/diff_hunks.h"
#include "creator/object_file.h"
#include "elf/elf_image.h"

namespace hotpatch::creator {

// A symbol of one unit's PATCHED object (or, where a pass says so, its original).
struct SymRef {
  uint32_t unit = 0;
  uint32_t index = 0;
  auto operator<=>(const SymRef&) const = default;
};

// One section of one unit's patched object.
struct SecRef {
  uint32_t unit = 0;
  uint32_t index = 0;
  auto operator<=>(const SecRef&) const = default;
};

struct Unit {
  std::string relpath;  // of the object, in the tree
  std::string file;     // its source file name (STT_FILE), qualifies its local symbols in the binary
  ObjectFile orig, patched;
  uint32_t number = 0;  // index in Program::units
  bool unchanged = false;  // read for context only: orig and patched are the same object

  Unit(std::string relpath, ObjectFile orig, ObjectFile patched);
  const std::vector<ObjSymbol>& syms() const { return patched.symbols(); }
  // "name (file.c)", how reports name a symbol of this unit.
  std::string where(const ObjSymbol& s) const;
  std::string where(uint32_t patched_index) const { return where(patched.symbols()[patched_index]); }
};

struct Program {
  const ElfImage* binary = nullptr;  // the program the patch is for; null in comparisons alone
  LineMoves moves;
  std::vector<std::unique_ptr<Unit>> units;
  // Objects of the program that did not change, read on demand (load_unchanged()).
  std::vector<std::pair<std::string, std::string>> unchanged_paths;  // relpath, file to read
  bool unchanged_loaded = false;

  Program(const ElfImage* b, LineMoves m) : binary(b), moves(std::move(m)) {}
  Unit& unit(uint32_t n) const { return *units[n]; }
  const ObjSymbol& sym(SymRef r) const { return units[r.unit]->patched.symbols()[r.index]; }
  // Adds the unchanged objects as units (once); returns the number of units before.
  size_t load_unchanged();
};

// Relocation kinds -------------------------------------------------------------
bool is_pc_relative(uint32_t type);   // PC32, PLT32
bool is_got_relative(uint32_t type);  // GOTPCREL, GOTPCRELX, REX_GOTPCRELX
bool is_absolute32(uint32_t type);    // 32, 32S (non-PIE code)
bool is_tls(uint32_t type);
size_t width_of(uint32_t type);       // bytes the relocation writes

// GCC's number suffix of function-local statics and other compiler-made locals
// (`calls.1`, `CSWTCH.12`): true if `name` has one; `base` gets the name without it.
bool has_number_suffix(const std::string& name, std::string* base = nullptr);

// GCC's hidden indirection cells for exception handling (DW.ref.__gxx_personality_v0,
// DW.ref._ZTI...): one pointer each, which the unwind tables refer to. The patch
// keeps its own, filled with the target's address of the symbol.
// A C++ name demangled for people ("existing[abi:cxx11]"), any other as it is.
std::string readable_name(const std::string& name);

bool is_indirection_cell(const std::string& name);
bool is_cold_part_of(const std::string& cold, const std::string& hot);

// What a relocation refers to, in terms that survive a rebuild.
struct Target {
  enum Kind { External, Symbol, Section } kind = External;
  uint32_t index = 0;  // symbol index (External, Symbol) or section index (Section)
  int64_t delta = 0;   // S + A relative to the symbol or section start
  int64_t tail = 0;    // bytes from the relocated field to the end of its instruction
};

// The code a relocation sits in: its section offset and bytes (to find where the
// instruction ends); nullopt for data.
using CodeContext = std::optional<std::pair<uint64_t, std::span<const uint8_t>>>;

// A relocation against a section symbol or a local label is mapped to the named
// function or variable the instruction really addresses (S + A + the bytes to the
// end of the instruction, for PC-relative ones).
Target target_of(const ObjectFile& obj, const ObjRelocation& r, const CodeContext& code);

// Bytes of a defined symbol (empty for NOBITS or out of range).
std::span<const uint8_t> bytes_of(const ObjectFile& obj, const ObjSymbol& s);
// Relocations inside [start, start+size) of a section, by offset.
std::vector<ObjRelocation> relocations_in(const ObjectFile& obj, uint32_t section, uint64_t start, uint64_t size);
// The code context of function `s` (for target_of).
CodeContext code_of(const ObjectFile& obj, const ObjSymbol& s);

// A description of an unnamed target (a string literal by its text, a pooled
// constant by its value, an anonymous section by its content and relocation
// shape): equal strings mean the same thing. Empty for named targets.
std::string unnamed_key(const ObjectFile& obj, const Target& t);

bool is_defined_function(const ObjSymbol& s);
// The functions an object registers to run at program start (.init_array,
// .preinit_array, .ctors): constructors and C++ dynamic initialisers.
std::set<uint32_t> constructors_of(const ObjectFile& obj);
bool is_defined_object(const ObjSymbol& s);

}  // namespace hotpatch::creator

// Pass 1, correlate: ties each function and variable of the patched objects to the
// one it was before the fix. Functions and global or file-scope data by name;
// function-local statics (`count.2`, C `static` inside a function) by the function
// that uses them, never by GCC's number suffix: GCC counts those from the last
// definition in the file, so a fix that adds a function with its own `static int n`
// renumbers every earlier one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "creator/program.h"

namespace hotpatch::creator {

struct Correlation {
  // Per unit: patched symbol index -> the original object's symbol index.
  std::vector<std::map<uint32_t, uint32_t>> twin;
  // Per unit: patched function-local statics that cannot be tied to exactly one
  // original, with the reason (refused if the patch uses them).
  std::vector<std::map<uint32_t, std::string>> ambiguous;
  // Global definitions of the patched program by name, for references between units.
  std::map<std::string, SymRef> globals;

  std::optional<uint32_t> twin_of(SymRef s) const;
  bool is_new(SymRef s) const { return !twin_of(s); }
  // The definition in the patched program a reference of unit `unit` leads to: the
  // symbol itself, or for an undefined one the unit that defines it globally.
  std::optional<SymRef> definition(const Program& p, uint32_t unit, const Target& t) const;
  // How the running program's symbol table names `s` (its original's name, as
  // "file.c::name" when file-local).
  std::string binary_name(const Program& p, SymRef s) const;
};

Correlation correlate(const Program& program);
// Correlates units [from, end) added to the program after correlate().
void correlate_units(const Program& program, Correlation& c, size_t from);

// The defined data symbols that function `f` of `obj` refers to.
std::vector<uint32_t> objects_referenced_by(const ObjectFile& obj, const ObjSymbol& f);

}  // namespace hotpatch::creator

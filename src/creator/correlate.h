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
  // Per unit: symbols of vague linkage (weak, GNU unique: C++ inline functions,
  // template instances, their statics, vtables) that the unit's original object
  // did not define, no other unit defined before either, and the running program
  // has: the fix only makes this file use them. They are the program's, not new.
  std::vector<std::set<uint32_t>> in_program;

  // Neither in the unit's original object nor in the program.
  bool is_new(SymRef s) const { return !twin_of(s) && !is_in_program(s); }
  bool is_in_program(SymRef s) const { return s.unit < in_program.size() && in_program[s.unit].count(s.index); }
  // The definition in the patched program a reference of unit `unit` leads to: the
  // symbol itself, or for an undefined one the unit that defines it globally.
  std::optional<SymRef> definition(const Program& p, uint32_t unit, const Target& t) const;
  // False for a second definition of a symbol of vague linkage (a C++ inline
  // function, template instance, or their statics, which every object that uses
  // them defines; the program has one): another unit's copy stands for it.
  bool is_canonical(const Program& p, SymRef s) const;
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

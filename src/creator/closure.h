// Pass 3, close over dependencies: from the changed functions, everything the patch
// must carry, to a fixed point, across all units at once: new functions and new
// variables (wherever in the program they are defined), `.cold` parts (hot and cold
// halves travel together), changed read-only constants and every function of any
// unit that reads one (it must read the new copy), the callers of a changed
// function too short for a jump, string literals and jump tables, and the unwind
// entries of every function copied.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <set>
#include <vector>

#include "creator/compare.h"
#include "creator/correlate.h"
#include "creator/program.h"
#include "elf/unwind_table.h"

namespace hotpatch::creator {

struct Plan {
  std::set<SymRef> included;          // functions copied into the patch
  std::set<SymRef> redirected;        // of those, the ones whose entry in the program jumps to the copy
  std::set<SymRef> unredirectable;    // changed but too short for a jump: their callers are redirected
  std::map<SymRef, std::string> why;  // included but unchanged: why it is there (a reader of a changed constant)
  std::set<SymRef> carried_data;      // variables copied: new ones, changed constants, indirection cells
  std::set<SecRef> carried_sections;  // anonymous read-only sections copied whole (strings, jump tables)
  struct Frames {
    uint32_t section = 0;              // the unit's .eh_frame
    std::vector<FrameEntry> entries;   // CIEs and FDEs of included functions, in order
  };
  std::map<uint32_t, Frames> frames;  // by unit

  // String literals the running program already has are used where it has them,
  // not copied: a pointer to one that outlives the patch (`c->log->action =
  // "reading"`) must stay valid after a revert unloads the patch. Key: unit,
  // section, offset of the first byte used; value: the program's address of those
  // bytes. The references are written against `anchor`, a symbol of the program.
  std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint64_t> program_strings;
  std::string anchor;
  uint64_t anchor_address = 0;

  // Found on the way, refused by verify():
  struct DataReference {
    SymRef constant;                 // a changed constant
    std::optional<SymRef> from;      // the variable that points to it (or:)
    std::string from_section;        // the unnamed data that does ("unit relpath: section")
  };
  std::vector<DataReference> constants_pointed_to;  // pointers in data keep the old copy
  std::set<SymRef> startup;           // changed start-up code
  std::set<SymRef> too_short;         // changed global functions too short for a jump
  std::map<SymRef, uint64_t> size_in_binary;  // of those
};

Plan close_over_dependencies(Program& program, Correlation& correlation, const Changes& changes);

// Start-up code: main, and what GCC puts in .text.startup (constructors, code that
// runs once); a running process never runs it again.
bool is_startup(const Unit& unit, const ObjSymbol& s);

// Size of `s`'s function in the running program (nullopt if it has none): what a
// redirect has room for, with the entry's endbr64 judged from the program's bytes.
std::optional<uint64_t> function_size_in_binary(const Program& program, const Unit& unit, const ObjSymbol& s);

}  // namespace hotpatch::creator

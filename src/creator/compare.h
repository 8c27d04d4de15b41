// Pass 2, compare: which correlated functions and variables differ. Code is the
// same when its bytes are, once every relocated field is masked, and every
// relocation means the same thing in both objects (same place, type, and target:
// the correlated symbol, or for unnamed data the same string, pooled constant or
// section contents). A function that differs only in __LINE__ values the diff
// moved is left alone (reported as line noise).
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "creator/correlate.h"
#include "creator/program.h"

namespace hotpatch::creator {

struct Changes {
  std::set<SymRef> changed;             // functions whose code or references differ
  std::set<SymRef> added;               // functions that did not exist before
  std::set<SymRef> changed_constants;   // read-only data whose contents changed
  std::vector<std::pair<SymRef, std::string>> changed_data;  // existing writable data or sizes: what changed
  std::vector<SymRef> line_noise;       // differ only in moved __LINE__ values
};

Changes compare(const Program& program, const Correlation& correlation);

// Both symbols' bytes with their relocated fields zeroed, if every relocation means
// the same thing in both (`a` of the unit's original object, `b` of its patched
// one); nullopt otherwise.
std::optional<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> masked_if_same_references(
    const Unit& unit, const Correlation& correlation, const ObjSymbol& a, const ObjSymbol& b, bool code);

// For build-noise detection: the functions and variables that differ between two
// objects built from the SAME source (e.g. two builds of the unchanged tree), or
// exist in only one of them. Named as the binary names them: "name", or
// "file.c::name" for file-local ones.
std::vector<std::string> differing_symbols(const ObjectFile& first, const ObjectFile& second);

}  // namespace hotpatch::creator

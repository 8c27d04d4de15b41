// Type layouts: the code the patch carries must see the program's existing
// objects as they are. If the fix changes the size or the member offsets of a
// struct, class or union that carried code uses (read from the objects' DWARF),
// the new code would read and write the program's live objects with the wrong
// layout: refused, naming the type and the field, pointing to shadow variables.
#pragma once

#include <string>
#include <vector>

#include "creator/closure.h"
#include "creator/correlate.h"
#include "creator/dwarf_info.h"
#include "creator/program.h"

namespace hotpatch::creator {

std::vector<std::string> check_type_layouts(const Program& program, const Correlation& correlation, const Plan& plan);

// What changed from `before` to `after` ("size 16 -> 24 bytes; new field 'extra'
// at offset 16"); empty if they are the same.
std::string describe_layout_change(const DwarfInfo::Layout& before, const DwarfInfo::Layout& after);

}  // namespace hotpatch::creator

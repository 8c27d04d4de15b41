// Pass 5, emit: the patch as GNU assembler source (assemble, link -shared
// -nostdlib). The carried functions' bytes exactly as compiled, every reference
// re-expressed: to code or data the patch carries, as a local reference (whichever
// unit it came from); to the program's own symbols, as a TARGET_RELOC record
// (file-local ones as "file.c::name"); to a library function, through a stub and
// a slot of the patch's own; plus the unwind entries and the .hotpatch records.
#pragma once

#include <string>

#include "creator/closure.h"
#include "creator/correlate.h"
#include "creator/program.h"

namespace hotpatch::creator {

struct PatchIdentity {
  std::string id, description, build_id;
  std::string object;  // the shared library the patch is for (HOTPATCH_OBJECT); empty for the program
};

// Throws Error(DoesNotFit) for a reference it cannot express.
std::string emit_assembly(const Program& program, const Correlation& correlation, const Plan& plan,
                          const PatchIdentity& identity);

}  // namespace hotpatch::creator

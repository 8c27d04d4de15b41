// Run-pre matching (Ksplice's idea): before trusting the rebuilt objects, each
// function of the ORIGINAL objects that the patch replaces or carries, and each
// function those call directly, must be byte for byte the running program's, with
// every relocation resolved against the program (its symbols, PLT entries and GOT
// slots; the linker's GOT relaxations allowed). A difference means the objects are
// not what the program was built from: other compiler flags, another compiler, a
// changed tree or a stale --work cache, and with them other inlining. A patch made
// from them could apply and be wrong, so each mismatch is a refusal, named, with
// the likely cause (the compilers' .comment strings, the units' DW_AT_producer).
#pragma once

#include <string>
#include <vector>

#include "creator/closure.h"
#include "creator/correlate.h"
#include "creator/program.h"

namespace hotpatch::creator {

std::vector<std::string> match_running_program(const Program& program, const Correlation& correlation, const Plan& plan);

}  // namespace hotpatch::creator

// Pass 4, verify: every reason the patch would be wrong in a running process, each
// named (what, where, why, and what to do instead). Any refusal means no patch.
#pragma once

#include <string>
#include <vector>

#include "creator/closure.h"
#include "creator/compare.h"
#include "creator/correlate.h"
#include "creator/program.h"

namespace hotpatch::creator {

std::vector<std::string> verify(const Program& program, const Correlation& correlation, const Changes& changes,
                                const Plan& plan);

}  // namespace hotpatch::creator

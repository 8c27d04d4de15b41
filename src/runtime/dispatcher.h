// Runs one line of the control protocol and produces its reply.
#pragma once

#include <string_view>

#include "runtime/code_loading.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

// `peer`: who sent it; the code-loading commands check it against the policy.
Reply run_command_line(std::string_view line, const Peer& peer);

}  // namespace hotpatch::runtime

// Runs one line of the control protocol and produces its reply.
#pragma once

#include <string_view>

#include "runtime/reply.h"

namespace hotpatch::runtime {

Reply run_command_line(std::string_view line);

}  // namespace hotpatch::runtime

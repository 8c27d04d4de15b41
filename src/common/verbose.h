// -v / --verbose: the steps of a command with the time since it started, on stderr
// ("hotpatch: [   12.345 ms] process 4242: apply"). Off by default; cheap when off.
#pragma once

#include <string>

namespace hotpatch::verbose {

void enable();
bool enabled();
// Prints the step when enabled. Never call it inside a stop (it writes to stderr).
void step(const std::string& what);

}  // namespace hotpatch::verbose

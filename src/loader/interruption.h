// A CLI that waits on a process must stay stoppable. main() defers SIGINT, SIGTERM,
// SIGHUP and SIGQUIT (blocks them) while a command changes a process, so that none
// can end it between two writes; the waits that can last (finding a thread to
// borrow, a remote call, retrying while a function is busy) look for one of them
// and give up: Error(Interrupted), with the target left as it was or, for a remote
// call already running, left to finish it on its own, as after a SIGKILL (the call
// returns through its signal frame: docs/design.md, "What survives a killed CLI").
#pragma once

#include <string>

namespace hotpatch {

// The first deferred termination signal pending for this process, or 0.
int pending_termination_signal();

// Throws Error(Interrupted) "interrupted by SIGTERM while WHAT" if such a signal is
// pending.
void throw_if_interrupted(const std::string& what);

// A remote call was left running when the CLI was interrupted, or abandoned after
// it faulted (RemoteCall): no more calls are made, and the clean-ups that would run
// them (unloading the patch) are skipped; what they would undo is harmless (code
// that nothing jumps to).
void note_call_abandoned();
bool call_abandoned();

}  // namespace hotpatch

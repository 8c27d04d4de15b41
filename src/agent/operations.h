// What the CLI's apply/check and the agent do to one process, in one place: the
// patch file is opened and accepted here (accept_patch_file: the one door a patch
// goes through before it may touch a process), and an apply of a patch that is
// already there from the same file is reported, not doubled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "elf/patch_file.h"
#include "loader/patcher.h"

namespace hotpatch::ops {

// Reads and validates the patch file and checks that it may be loaded into a
// process (a regular file owned by root or us, writable by no one else; its
// signature as the trust policy wants it, docs/security.md). Throws
// Error(BadPatchFile), or Error(Untrusted) after an audit record of the refusal
// (`action` names what was refused: apply, check, install-patch, agent).
// Every command that applies or checks a patch opens it here, once: the PatchFile
// holds the bytes read, which are what the loader loads.
PatchFile accept_patch_file(const std::string& path, const std::string& action = "apply");

struct ApplyOutcome {
  bool already_applied = false;  // the same id from the same file was there: nothing done
  PatchRecord existing;          // with already_applied: the record found
  ApplyReport report;            // otherwise: what apply did
};

// Applies `patch` to process `pid`, unless the process already has a patch with its
// id applied from the same file (not modified since it was applied), or from a file
// with the same bytes (a copy, e.g. the one installed for the agent): then nothing is
// done and already_applied is set. The same id from another file (or from this file
// changed since) is Error(Conflict), as for any duplicate id.
// With `replace` (apply --replace), patch `replace` is reverted in the same stop
// (Patcher::apply); an already-applied patch leaves it alone.
// Every call leaves an audit record (docs/security.md): ok, already-applied or failed.
ApplyOutcome apply_once(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout,
                        const std::string& replace = "");

// A dry run of apply_once (`hotpatch check`): everything but the writes. The
// patch's plan (every replaced symbol and reference resolved, sizes, build-id,
// HOTPATCH_OBJECT, the registry: duplicate id, stacking), libc and the runtime to
// load found, and one stop of every thread that checks, as apply's commit would,
// that no replaced function is active and the registry is not being written, and
// releases at once; retried like apply until `timeout`. Nothing is loaded into the
// process and nothing in it is written. Throws the Error apply would (Busy,
// DoesNotFit, Conflict, Target...), with the same exit code.
struct CheckedFunction {
  std::string symbol;
  uint64_t address = 0;
  std::string object;      // the file it is in
  std::string stacked_on;  // id of the patch that redirects it now, if any
};
struct CheckOutcome {
  bool already_applied = false;  // as apply_once would find it: nothing to do
  PatchRecord existing;
  std::vector<CheckedFunction> functions;
  StopReport stop;              // the dry stop (attempts, pause, threads)
  bool runtime_loaded = false;  // false: apply would load libhotpatch.so first
  std::vector<std::string> notes;
};
CheckOutcome check_apply(pid_t pid, const PatchFile& patch, std::chrono::milliseconds timeout);

}  // namespace hotpatch::ops

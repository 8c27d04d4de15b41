// Creator: `hotpatch create`, from a source tree and a diff to a patch file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "creator/patch_builder.h"

namespace hotpatch::creator {

struct CreateOptions {
  std::string source_dir;
  std::vector<std::string> diffs;  // applied in order (a series): one cumulative patch
  std::string build_command = "make";
  std::string binary;  // relative to source_dir: the program users run
  std::string output;
  std::string id;           // default: the output's base name
  std::string description;  // default: the diffs' file names
  std::optional<std::string> work_dir;
  // create --hooks (docs/creator.md#hook-files): a C file of callbacks, shadow ids and
  // helpers compiled into the patch; extra compiler flags for it (the project's -I/-D).
  std::optional<std::string> hooks;
  std::string hooks_cflags;
};

struct CreateResult {
  CreateReport report;
  std::string output;  // written patch, empty if refused
  std::string build_id;
  // The shared library the patch is pinned to (HOTPATCH_OBJECT), when --binary is
  // one; empty for a program.
  std::string object;
  // Objects compiled again by create itself ("obj (why)"), and what it left out
  // or wants the patch author to know ("note: ...").
  std::vector<std::string> recompiled;
  // Objects of the patched program that the unpatched one does not have (source
  // files the fix adds), compared with an empty object.
  std::vector<std::string> added_files;
  std::vector<std::string> notes;
  double seconds = 0;
  bool rebuilt_from_scratch = false;
};

// Throws Error(DoesNotFit) when something in the diff cannot be patched live (the
// report lists why; no file is written), Error(Usage) for a build or diff failure.
CreateResult create_patch(const CreateOptions& options);

}  // namespace hotpatch::creator

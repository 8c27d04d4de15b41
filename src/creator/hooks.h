// Hook files (`hotpatch create --hooks FILE.c`, docs/creator.md#hook-files): code a
// patch author writes by hand next to a diff — callbacks (HOTPATCH_PRE_APPLY...),
// shadow variable ids (HOTPATCH_SHADOW_ID), HOTPATCH_REFs and helpers — compiled
// into the created patch and linked with the code taken from the rebuilt objects.
#pragma once

#include <string>
#include <vector>

namespace hotpatch::creator {

struct HookFile {
  std::string source;  // absolute path of FILE.c
  std::string cflags;  // --hooks-cflags: extra flags, after the project's
  // The project's own flags that decide what its headers declare, taken from the
  // recorded compile of a changed object (project_flags), and the directory that
  // compile ran in (relative -I flags mean the same there). Empty: the tree's root.
  std::vector<std::string> project_flags;
  std::string project_cwd;
};

struct CompileRecord;
// The flags of `record` that change what a C file including the project's headers
// means (preprocessor flags, the C standard, char signedness, struct packing): the
// rest (optimisation, warnings, outputs, dependency files) stays the hook file's own.
std::vector<std::string> header_flags(const CompileRecord& record);

// Compiles the hook file for a near-linked patch: position-independent, hidden
// visibility (its functions bind inside the patch), <hotpatch/patch.h> on the
// include path, the project's header flags, run where the project's compile ran
// (else in `tree`) so that relative -I flags mean what they mean for the project. Returns the objects to link into the patch. Throws Error(Usage)
// with the compiler's message, or for what a near-linked patch cannot have
// (constructors, destructors, thread-local data).
std::vector<std::string> build_hook_objects(const HookFile& hooks, const std::string& tree, const std::string& work_dir);

// Where <hotpatch/patch.h> lives for this hotpatch: $HOTPATCH_INCLUDE, else
// ../include next to the executable (installed, or the build tree inside the
// source tree). Throws Error(Internal) if neither has it.
std::string hotpatch_include_dir();

}  // namespace hotpatch::creator

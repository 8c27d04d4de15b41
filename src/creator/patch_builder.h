// PatchBuilder: the heart of `hotpatch create`. Given the object files of the
// program built from the same tree without and with the fix (same flags, same
// paths), it finds what changed and writes the patch, in passes over the whole
// program at once (kpatch's create-diff-object, in user space):
//
//   correlate -> compare -> close over dependencies -> verify -> emit
//
// (correlate.h, compare.h, closure.h, verify.h, emit.h; program.h holds the
// vocabulary they share.)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "creator/diff_hunks.h"
#include "creator/object_file.h"
#include "elf/elf_image.h"

namespace hotpatch::creator {

struct CreateReport {
  std::vector<std::string> changed;          // functions replaced
  std::vector<std::string> added_functions;  // new functions the changed ones call
  std::vector<std::string> added_data;       // new variables / changed constants carried along
  std::vector<std::string> refused;          // what cannot be patched, with the reason
  std::vector<std::string> line_noise;       // differ only in a moved __LINE__: left alone
};

class PatchBuilder {
 public:
  // `binary` is the program the patch is for (the file users run).
  explicit PatchBuilder(const ElfImage& binary, LineMoves moves = {});
  ~PatchBuilder();

  // One translation unit that changed: its object before and after the fix.
  void add_unit(const std::string& relpath, ObjectFile orig, ObjectFile patched);
  // An object of the program the fix did not change, read only if a pass needs it
  // (the readers of a changed global constant, in any file).
  void add_unchanged(const std::string& relpath, const std::string& path);

  // Runs the passes (once; the accessors below run them if needed).
  void analyse();
  const CreateReport& report();
  bool has_changes();

  // The patch as GNU assembler source (assemble, link -shared -nostdlib). `object`:
  // the shared library the patch is for (HOTPATCH_OBJECT), empty for the program.
  std::string assembly(const std::string& id, const std::string& description, const std::string& build_id,
                       const std::string& object = "");

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace hotpatch::creator

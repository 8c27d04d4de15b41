// PatchBuilder: the heart of `hotpatch create`. Given pairs of object files built
// from the same tree without and with the fix (same flags, same paths), it finds
// the functions that changed, follows what they need (new functions, new data,
// changed constants, .cold parts), refuses what cannot be patched in a running
// process, and writes the patch as assembly: the changed code copied byte for
// byte, every reference re-expressed either inside the patch or as a TARGET_RELOC
// to the running binary's symbol (kpatch's object-diff model, in user space).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "creator/object_file.h"
#include "elf/elf_image.h"

namespace hotpatch::creator {

// Where the diff moves lines, per source file, to recognise functions that differ
// only because a __LINE__ they use moved (assert, logging macros).
struct Hunk {
  int64_t old_start = 0, old_length = 0, new_length = 0;
};
using LineMoves = std::map<std::string, std::vector<Hunk>>;  // file base name -> hunks
LineMoves parse_line_moves(const std::string& diff_text);

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

  // One translation unit: its object before and after the fix.
  void add_unit(const std::string& relpath, ObjectFile orig, ObjectFile patched);

  const CreateReport& report() const { return report_; }
  bool has_changes() const { return !report_.changed.empty(); }

  // The patch as GNU assembler source (assemble, link -shared -nostdlib). `object`:
  // the shared library the patch is for (HOTPATCH_OBJECT), empty for the program.
  std::string assembly(const std::string& id, const std::string& description, const std::string& build_id,
                       const std::string& object = "") const;

 private:
  struct Unit;
  void analyse(Unit& unit);
  // `before` and `after` differ only in __LINE__ values that the diff moved.
  bool only_moved_lines(const Unit& unit, const ObjSymbol& before, const ObjSymbol& after) const;
  // Size of `symbol`'s function in the program (nullopt if it has none).
  std::optional<uint64_t> function_size_in_binary(const Unit& unit, const ObjSymbol& symbol) const;
  const ElfImage& binary_;
  LineMoves moves_;
  std::vector<std::unique_ptr<Unit>> units_;
  CreateReport report_;
};

}  // namespace hotpatch::creator

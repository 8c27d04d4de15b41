// PatchFile: the metadata of a patch .so (see include/hotpatch/patch.h and
// docs/patch-format.md), read from the file alone, before any process is touched.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "elf/elf_image.h"

namespace hotpatch {

struct PatchReplacement {
  std::string target_symbol;     // symbol in the target whose entry gets the jump
  uint64_t replacement_vaddr = 0;  // link-time address of the new function in the patch
  uint64_t replacement_size = 0;   // st_size of the function symbol there (0 if unknown)
  std::string replacement_name;  // its symbol name in the patch, if it has one
};

struct PatchRef {
  std::string target_symbol;  // symbol in the target whose address is written...
  uint64_t slot_vaddr = 0;    // ...into this pointer-sized slot of the patch
};

// A reference from the patch's code to a symbol of the target, which the loader
// resolves when it links a HOTPATCH_LINK_NEAR patch (the creator emits these
// instead of ELF relocations, which ld refuses for undefined symbols in a .so).
struct PatchTargetReloc {
  std::string target_symbol;
  uint64_t place_vaddr = 0;  // where in the patch the value goes
  uint32_t type = 0;         // R_X86_64_PC32, PLT32, 64, 32 or 32S
  int32_t addend = 0;
};

// A callback (HOTPATCH_PRE_APPLY...): a function of the patch the loader calls in
// the target at a fixed point of apply or revert (docs/creator.md#callbacks).
struct PatchCallback {
  std::string name;   // as written in the macro
  uint64_t vaddr = 0; // link-time address of the function in the patch
};

// A shadow variable id the patch declares (HOTPATCH_SHADOW_ID).
struct PatchShadowId {
  uint64_t id = 0;
  std::string name;  // the id as written in the macro
};

struct PatchFile {
  std::string path;              // absolute path
  // The file's bytes as read, once (read_patch_file): what is parsed, verified and
  // loaded into the target. The loader never opens the path again, so a file
  // changed after the check cannot be what runs (docs/security.md).
  std::shared_ptr<const std::vector<uint8_t>> bytes;
  std::string sha256;            // of `bytes`, lowercase hex
  std::string signer;            // key id of its valid signature, once ops::accept_patch_file checked it
  uint32_t format_version = 0;
  std::string id;                // HOTPATCH_ID, else file base name without ".so"
  std::string description;       // may be empty
  std::optional<std::string> build_id;  // required build-id of the target object, lowercase hex
  std::optional<std::string> object;    // HOTPATCH_OBJECT: pin lookups to this object
  bool link_near = false;               // HOTPATCH_LINK_NEAR: mapped near the target and linked by us
  std::string patch_build_id;    // the patch file's own build-id (may be empty)
  std::vector<PatchReplacement> replacements;
  std::vector<PatchRef> refs;
  std::vector<PatchTargetReloc> target_relocs;  // only with link_near
  std::optional<PatchCallback> pre_apply, post_apply, pre_revert, post_revert;
  std::vector<PatchShadowId> shadow_ids;  // distinct ids
  uint64_t text_vaddr_start = 0, text_vaddr_end = 0;  // span of the patch's executable PT_LOADs
  // The patch's unwind table (.eh_frame), for the unwinder to step through its code.
  // A dlopen()ed patch is found by the unwinder itself; a near-linked one is
  // registered with the target's unwinder, which needs the zero terminator.
  uint64_t unwind_vaddr = 0;       // 0: the patch has none
  size_t unwind_functions = 0;     // FDEs in it
  bool unwind_terminated = false;
};

// Reads and validates. Throws Error(BadPatchFile) with a one-line reason naming the
// file: not ELF / not x86_64 / not a shared object / no .hotpatch section ("not a
// hotpatch file") / truncated / unknown format version / malformed record / no
// replacement / a symbol replaced twice / more than one ID, DESCRIPTION, BUILD_ID or
// OBJECT or callback of one kind / a callback outside the patch's code / bad build-id hex / an id that is empty, longer than 64 chars or has
// characters outside [A-Za-z0-9._+-].
// Reads the file once into PatchFile::bytes; a signature trailer (trust/signature.h)
// after the ELF image is not looked at here (ops::accept_patch_file judges it).
PatchFile read_patch_file(const std::string& path);
// The two halves of read_patch_file: the bytes of the file (`resolved`: its absolute
// path), then the patch parsed from them. Throw like read_patch_file.
std::shared_ptr<const std::vector<uint8_t>> read_patch_bytes(const std::string& path, std::string& resolved);
PatchFile parse_patch_bytes(std::shared_ptr<const std::vector<uint8_t>> bytes, const std::string& resolved);
// The same from an ElfImage already open (fuzzing).
PatchFile parse_patch(const ElfImage& image, const std::string& path);

}  // namespace hotpatch

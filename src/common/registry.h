// The registry's content and its byte encoding (see registry_layout.h for where the
// bytes live). Plain C++ with no dependencies, so the Core Runtime can share it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch {

struct RedirectRecord {
  std::string symbol;            // target symbol name
  std::string replacement_name;  // symbol in the patch (may be empty)
  uint64_t target = 0;           // function entry in the target
  uint64_t target_size = 0;
  uint64_t patch_site = 0;       // where the jump was written (after endbr64)
  uint64_t replacement = 0;
  uint64_t replacement_size = 0;
  uint64_t stub = 0;             // stub the entry jumps to, 0 for a direct jump
  uint64_t preserved = 0;        // arch::RegisterSet mask the stub saves around the call (0: plain jump)
  std::vector<uint8_t> saved;    // bytes at patch_site before this patch
  std::vector<uint8_t> written;  // bytes this patch wrote there
};

struct MemoryBlock {
  uint64_t start = 0;
  uint64_t length = 0;
};

// Where a patch stands. A CLI killed inside the stop leaves a record that is not
// Applied; the next CLI finishes what it started (docs/design.md).
enum class PatchState : uint32_t {
  Applied = 0,
  Applying = 1,   // recorded with its saved bytes; its jumps are being written
  Reverting = 2,  // its saved bytes are being put back; the record goes next
};

struct PatchRecord {
  std::string id;
  std::string description;
  std::string path;
  uint64_t applied_unix = 0;
  uint64_t handle = 0;  // dlopen handle, for dlclose on revert
  MemoryBlock code;     // the patch object's executable span, checked on revert
  std::vector<MemoryBlock> stubs;  // far-jump stub pages this patch owns
  std::vector<uint64_t> unwind_tables;  // .eh_frame tables registered with the target's unwinder
  std::vector<RedirectRecord> redirects;
  PatchState state = PatchState::Applied;
  // What a revert runs besides restoring bytes (docs/creator.md#callbacks): the
  // patch's pre-/post-revert callbacks (addresses in the target, 0: none), and
  // whether it declared shadow variable ids (their claims are released).
  uint64_t pre_revert = 0, post_revert = 0;
  bool shadow_ids = false;
};

struct Registry {
  std::vector<PatchRecord> patches;  // in the order applied, oldest first

  const PatchRecord* find(const std::string& id) const;
  // The newest patch that redirects the function at `target`, if any.
  const PatchRecord* top_patch_for(uint64_t target) const;
};

std::vector<uint8_t> encode_registry(const Registry& registry);
// nullopt if the bytes are not a well-formed encoding.
std::optional<Registry> decode_registry(const uint8_t* data, size_t size);

}  // namespace hotpatch

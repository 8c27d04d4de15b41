// NearLinker: loads a HOTPATCH_LINK_NEAR patch without dlopen. Its code refers to
// the target's private symbols PC-relatively (as code compiled into the target
// does), which only works within ±2 GiB of them; dlopen would place it anywhere.
// So we map its segments ourselves near the target object and apply its dynamic
// relocations, resolving undefined symbols in the target (its local symbols too).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/registry.h"
#include "common/remote_ptr.h"
#include "elf/elf_image.h"
#include "elf/patch_file.h"

namespace hotpatch {

class Process;
class TargetObjects;
struct LoadedObject;

class NearLinker {
 public:
  // What can be checked from the file alone: PT_LOADs, supported relocation kinds,
  // no TLS, no constructors. Throws Error(BadPatchFile).
  NearLinker(const ElfImage& image, const PatchFile& patch);

  // Resolves every undefined symbol in the target now, before anything is loaded.
  // With a pinned object (HOTPATCH_OBJECT), a name is looked up there first, its
  // local symbols included; but an absolute address of one of its exported symbols
  // (a GOT slot of the patch) is bound in the global scope as ld.so bound the
  // library's own GOT: to the program's copy of a copy-relocated variable.
  // `resolve_ifunc` turns an IFUNC resolver's address into the function it selects
  // (it calls the resolver in the target). Throws Error(DoesNotFit).
  void resolve(const TargetObjects& objects, const LoadedObject* pinned, const std::vector<std::string>& excluded);

  // Bytes of address space the patch needs (its PT_LOAD span, whole pages).
  uint64_t span() const { return span_; }

  // Where to map: the caller maps `span()` bytes at `base` (reachable from the
  // target), then this writes segments and relocations into the target and
  // returns the protections to set, as (range, PROT_*) pairs.
  struct Protection {
    RemoteAddr start;
    uint64_t length;
    int prot;
  };
  std::vector<Protection> link(const Process& process, RemoteAddr base,
                               const std::function<uint64_t(uint64_t resolver)>& resolve_ifunc) const;

 private:
  struct External {
    std::string name;
    uint64_t address = 0;  // 0 for an unresolved weak symbol
    bool ifunc = false;
  };
  const ElfImage& patch_;
  const PatchFile& file_;
  std::string path_;
  uint64_t span_ = 0;
  std::vector<ElfImage::Relocation> relocations_;
  std::map<std::string, External> externals_;  // by external_key(): name, and how it is bound
  std::map<std::string, uint64_t> own_;         // "hotpatch.self:SYM" TARGET_RELOCs -> SYM's vaddr in the patch
  bool pinned_ = false;                        // resolve() had a HOTPATCH_OBJECT
};

}  // namespace hotpatch

// TargetObjects: the ELF objects loaded in the target (main executable, shared
// libraries), where each is, and their symbols. Symbol lookups give target
// addresses: link-time value + the object's load bias.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/remote_ptr.h"
#include "elf/elf_image.h"
#include "loader/address_space.h"

namespace hotpatch {

class Process;

struct LoadedObject {
  std::string path;  // as the target names it
  uint64_t inode = 0;
  std::string device;
  bool is_main = false;
  RemoteAddr base;  // lowest mapped address
  RemoteRange header_mapping;  // the mapping of file offset 0 (ELF header), if any
  int64_t bias = 0; // add to link-time addresses
  std::vector<RemoteRange> executable_ranges;
  RemoteRange span;  // lowest to highest mapped address

  std::string basename() const;
};

struct ResolvedSymbol {
  const LoadedObject* object = nullptr;
  ElfSymbol symbol;
  RemoteAddr address;
};

class TargetObjects {
 public:
  TargetObjects(const Process& process, AddressSpace space);

  const AddressSpace& address_space() const { return space_; }
  const std::vector<LoadedObject>& objects() const { return objects_; }
  const LoadedObject* main_executable() const;
  // By path, base name ("libc.so.6") or DT_SONAME.
  const LoadedObject* find_object(const std::string& name) const;
  const LoadedObject* object_containing(RemoteAddr addr) const;
  // The process's libc.so.6; throws Error(DoesNotFit) "libc.so.6 is not loaded
  // (statically linked?); hotpatch cannot WHAT" when there is none.
  const LoadedObject& libc(const std::string& what) const;
  // The object's ELF image, read on first use from the very file the target has
  // mapped, never from another file of the same name (a target in another mount
  // namespace or root, a file replaced on disk): /proc/PID/map_files, else the path
  // under /proc/PID/root if it is the same file (device and inode as in
  // /proc/PID/maps, or the same first page as the target has mapped); otherwise
  // Error(DoesNotFit) saying why. With the symbols of its separate debug file
  // (/usr/lib/debug/.build-id/..., the target's or ours, same build-id) merged in
  // when it is stripped.
  const ElfImage& image(const LoadedObject& object) const;
  // Whether the object is a hotpatch patch (a ".hotpatch" section, or a memfd copy
  // the Loader made): applied, or reverted and kept mapped (Patcher::dispose).
  bool is_patch(const LoadedObject& object) const;

  // Looks `name` up in `pinned` if given, else in the main executable, then in the
  // other objects in address order, skipping `excluded` paths (the runtime, patches).
  // want_function: only STT_FUNC/STT_GNU_IFUNC. "file.c::name" names the local
  // symbol `name` of source file file.c. Throws Error(DoesNotFit) naming the
  // symbol when it is missing or ambiguous (several local definitions).
  ResolvedSymbol resolve(const std::string& name, const LoadedObject* pinned, bool want_function,
                         const std::vector<std::string>& excluded = {}) const;
  // The definition the dynamic linker binds a default-visibility reference to
  // `name` from any object: the first one, main executable first, that exports it
  // (a defined global in .dynsym). This is where a copy relocation puts a shared
  // library's variable that the program uses. nullopt if no object exports it.
  std::optional<ResolvedSymbol> resolve_exported(const std::string& name, const std::vector<std::string>& excluded = {}) const;
  // Like resolve() but nullopt instead of "not found" (still throws on ambiguity).
  std::optional<ResolvedSymbol> try_resolve(const std::string& name, const LoadedObject* pinned, bool want_function,
                                            const std::vector<std::string>& excluded = {}) const;

 private:
  std::optional<ResolvedSymbol> lookup_in(const LoadedObject& object, const std::string& name, bool want_function) const;
  // The main executable first, then the libraries in load order.
  std::vector<const LoadedObject*> lookup_order() const;

  const Process& process_;
  AddressSpace space_;
  std::vector<LoadedObject> objects_;
  ElfImage& image_without_debug_symbols(const LoadedObject& object) const;

  ElfImage open_mapped_file(const LoadedObject& object) const;
  // "; cannot read PATH: WHY" for every object whose file could not be read.
  std::string unreadable_objects() const;

  mutable std::map<std::string, std::unique_ptr<ElfImage>> images_;
  mutable std::map<std::string, std::string> unreadable_;  // path -> why
  mutable std::set<std::string> debug_symbols_merged_;
};

}  // namespace hotpatch

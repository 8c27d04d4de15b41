#include "loader/target_objects.h"

#include <elf.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "common/error.h"
#include "common/paths.h"
#include "loader/process.h"

namespace hotpatch {

std::string LoadedObject::basename() const { return base_name(path); }

TargetObjects::TargetObjects(const Process& process, AddressSpace space) : process_(process), space_(std::move(space)) {
  std::string exe;
  try {
    exe = process_.executable_path();
  } catch (const Error&) {
  }
  // Group file mappings by (device, inode): one object each, in address order. An
  // index, not a search: reverted patches stay mapped (thousands after a long run).
  std::map<std::tuple<uint64_t, std::string, std::string>, size_t> index;
  for (const auto& m : space_.mappings()) {
    if (!m.is_file()) continue;
    auto [slot, added] = index.try_emplace({m.inode, m.device, m.path}, objects_.size());
    auto it = objects_.begin() + static_cast<std::ptrdiff_t>(slot->second);
    if (added) {
      LoadedObject o;
      o.path = m.path;
      o.inode = m.inode;
      o.device = m.device;
      o.is_main = (m.path == exe);
      o.base = m.range.start;
      o.span = m.range;
      objects_.push_back(o);
      it = objects_.end() - 1;
    }
    it->span.start = std::min(it->span.start, m.range.start);
    it->span.end = std::max(it->span.end, m.range.end);
    it->base = it->span.start;
    if (m.executable) it->executable_ranges.push_back(m.range);
    // The bias comes from the mapping of file offset 0, which holds the ELF header
    // and corresponds to the first PT_LOAD; fixed up once the image is read.
    if (m.offset == 0 && it->header_mapping.start.is_null()) it->header_mapping = m.range;
  }
  // Drop file mappings that are not ELF objects (data files someone mmapped).
  std::erase_if(objects_, [](const LoadedObject& o) { return o.executable_ranges.empty(); });
  for (auto& o : objects_) {
    if (o.header_mapping.start.is_null()) continue;
    try {
      const ElfImage& img = image_without_debug_symbols(o);
      uint64_t first_vaddr = UINT64_MAX;
      for (const auto& seg : img.load_segments()) first_vaddr = std::min(first_vaddr, seg.vaddr & ~uint64_t{0xfff});
      if (first_vaddr == UINT64_MAX) first_vaddr = 0;
      o.bias = img.elf_type() == ET_EXEC ? 0 : static_cast<int64_t>(o.header_mapping.start.value() - first_vaddr);
    } catch (const Error&) {
      // Not readable as ELF: keep it (addresses still map to it) but lookups skip it.
      o.bias = static_cast<int64_t>(o.header_mapping.start.value());
    }
  }
}

const LoadedObject* TargetObjects::main_executable() const {
  for (const auto& o : objects_)
    if (o.is_main) return &o;
  return nullptr;
}

const LoadedObject* TargetObjects::find_object(const std::string& name) const {
  for (const auto& o : objects_)
    if (o.path == name || o.basename() == name) return &o;
  for (const auto& o : objects_) {
    try {
      if (image(o).soname() == name) return &o;
    } catch (const Error&) {
    }
  }
  return nullptr;
}

const LoadedObject* TargetObjects::object_containing(RemoteAddr addr) const {
  for (const auto& o : objects_)
    if (o.span.contains(addr)) return &o;
  return nullptr;
}

ElfImage TargetObjects::open_mapped_file(const LoadedObject& object) const {
  // 1. The mapping itself: exactly the file the target runs, deleted or in another
  // mount namespace alike.
  try {
    return ElfImage::open(process_.mapped_file_path(object.executable_ranges.front()));
  } catch (const Error&) {
    // Not permitted (map_files wants CAP_SYS_ADMIN) or not there: by path.
  }
  // 1b. A file without a path (a memfd, as `lib load` maps): a descriptor the target
  // keeps open on it (the runtime's helper, same uid, has no CAP_SYS_ADMIN).
  if (object.path.rfind("/memfd:", 0) == 0) {
    const std::string fd_path = process_.open_file_path(object.device, object.inode);
    if (!fd_path.empty()) return ElfImage::open(fd_path);
  }
  // 2. Its path as the target sees it (its root, its mounts), if that is still the
  // file mapped.
  const std::string in_root = process_.path_in_target_root(object.path);
  ElfImage image = ElfImage::open(in_root);
  unsigned major = 0, minor = 0;
  const auto id = image.file_identity();
  if (id && std::sscanf(object.device.c_str(), "%x:%x", &major, &minor) == 2 && ::major(id->device) == major &&
      ::minor(id->device) == minor && id->inode == object.inode)
    return image;
  // overlayfs shows the underlying file's device and inode in the maps, not the
  // ones stat gives through the overlay: then the bytes decide. The first page holds
  // the ELF and program headers and the build-id note; a different build differs.
  if (!object.header_mapping.start.is_null()) {
    const auto& loads = image.load_segments();
    auto first = std::find_if(loads.begin(), loads.end(), [](const ElfSegment& s) { return s.offset == 0; });
    if (first != loads.end()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>({first->filesz, object.header_mapping.size(), 4096}));
      auto file_bytes = image.read_vaddr(first->vaddr, n);
      std::vector<uint8_t> mapped(n);
      if (file_bytes && n > 0 && process_.read_partial(object.header_mapping.start, mapped.data(), n) == n &&
          *file_bytes == mapped)
        return image;
    }
  }
  throw Error(ErrorKind::DoesNotFit,
              fmt::format("{} is not the file the process has mapped there (device {}, inode {} in /proc/{}/maps), "
                          "and /proc/{}/map_files, which would give the right one, needs CAP_SYS_ADMIN",
                          in_root, object.device, object.inode, process_.pid(), process_.pid()));
}

ElfImage& TargetObjects::image_without_debug_symbols(const LoadedObject& object) const {
  auto it = images_.find(object.path);
  if (it != images_.end()) return *it->second;
  try {
    auto& slot = images_[object.path];
    slot = std::make_unique<ElfImage>(open_mapped_file(object));
    return *slot;
  } catch (const Error& e) {
    images_.erase(object.path);
    unreadable_[object.path] = e.what();
    throw;
  }
}

bool TargetObjects::is_patch(const LoadedObject& object) const {
  if (object.path.rfind("/memfd:hotpatch:", 0) == 0) return true;
  try {
    return image_without_debug_symbols(object).section(".hotpatch").has_value();
  } catch (const Error&) {
    return false;
  }
}

std::string TargetObjects::unreadable_objects() const {
  std::string out;
  for (const auto& [path, why] : unreadable_) out += fmt::format("; cannot read {}: {}", path, why);
  return out;
}

const ElfImage& TargetObjects::image(const LoadedObject& object) const {
  ElfImage* img = &image_without_debug_symbols(object);
  // Merged on first use only: a debug file is megabytes of symbols, and most objects
  // of a process are only ever asked where they are loaded.
  if (!debug_symbols_merged_.insert(object.path).second) return *img;
  if (!img->has_symtab()) {
    if (auto id = img->build_id(); id && id->size() > 2) {
      // The target's own debug files first, then ours; either way the build-id is
      // what makes it the right one (merge_symbols_from refuses another).
      std::string debug = "/usr/lib/debug/.build-id/" + id->substr(0, 2) + "/" + id->substr(2) + ".debug";
      for (const std::string& path : {process_.path_in_target_root(debug), debug}) {
        if (::access(path.c_str(), R_OK) != 0) continue;
        try {
          ElfImage file = ElfImage::open(path);
          if (file.build_id() != id) continue;
          img->merge_symbols_from(file);
          break;
        } catch (const Error&) {
        }
      }
    }
  }
  return *img;
}

const LoadedObject& TargetObjects::libc(const std::string& what) const {
  if (const LoadedObject* o = find_object("libc.so.6")) return *o;
  throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: libc.so.6 is not loaded (statically linked?); hotpatch cannot {}",
                                                 process_.pid(), what));
}

std::optional<ResolvedSymbol> TargetObjects::lookup_in(const LoadedObject& object, const std::string& name,
                                                       bool want_function) const {
  const ElfImage* img;
  try {
    img = &image(object);
  } catch (const Error&) {
    return std::nullopt;
  }
  // "file.c::name" names a file-local symbol of that source file (the creator
  // writes such names; mangled C++ names never contain "::").
  std::string symbol_name = name, source_file;
  if (auto sep = name.find("::"); sep != std::string::npos) {
    source_file = name.substr(0, sep);
    symbol_name = name.substr(sep + 2);
  }
  std::vector<const ElfSymbol*> candidates;
  for (const ElfSymbol* s : img->find_symbols(symbol_name)) {
    if (s->section_index == SHN_UNDEF) continue;
    if (!source_file.empty() && (s->bind != STB_LOCAL || base_name(s->source_file) != base_name(source_file))) continue;
    if (s->type == STT_TLS) continue;
    if (want_function && s->type != STT_FUNC && s->type != STT_GNU_IFUNC) continue;
    if (std::none_of(candidates.begin(), candidates.end(), [&](const ElfSymbol* c) { return c->value == s->value; }))
      candidates.push_back(s);
  }
  if (candidates.empty()) return std::nullopt;
  const ElfSymbol* chosen = nullptr;
  if (candidates.size() == 1) {
    chosen = candidates[0];
  } else {
    // A global definition wins over file-local ones of the same name; several
    // locals and no global is ambiguous.
    std::vector<const ElfSymbol*> globals;
    for (const ElfSymbol* c : candidates)
      if (c->bind != STB_LOCAL) globals.push_back(c);
    if (globals.size() == 1) {
      chosen = globals[0];
    } else {
      std::string files;
      for (const ElfSymbol* c : candidates) files += (files.empty() ? "" : ", ") + (c->source_file.empty() ? std::string("?") : c->source_file);
      throw Error(ErrorKind::DoesNotFit, fmt::format("symbol '{}' is ambiguous in {}: {} definitions (in {})", name,
                                                     object.path, candidates.size(), files));
    }
  }
  ResolvedSymbol r;
  r.object = &object;
  r.symbol = *chosen;
  r.address = RemoteAddr(chosen->value + object.bias);
  return r;
}

std::vector<const LoadedObject*> TargetObjects::lookup_order() const {
  // The dynamic linker's order for a global lookup: the program, then its libraries.
  std::vector<const LoadedObject*> order;
  if (const auto* m = main_executable()) order.push_back(m);
  for (const auto& o : objects_)
    if (!o.is_main) order.push_back(&o);
  return order;
}

std::optional<ResolvedSymbol> TargetObjects::try_resolve(const std::string& name, const LoadedObject* pinned,
                                                         bool want_function, const std::vector<std::string>& excluded) const {
  if (pinned) return lookup_in(*pinned, name, want_function);
  const std::vector<const LoadedObject*> order = lookup_order();
  for (const LoadedObject* o : order) {
    if (std::find(excluded.begin(), excluded.end(), o->path) != excluded.end()) continue;
    if (auto r = lookup_in(*o, name, want_function)) return r;
  }
  return std::nullopt;
}

std::optional<ResolvedSymbol> TargetObjects::resolve_exported(const std::string& name,
                                                              const std::vector<std::string>& excluded) const {
  const std::vector<const LoadedObject*> order = lookup_order();
  for (const LoadedObject* o : order) {
    if (std::find(excluded.begin(), excluded.end(), o->path) != excluded.end()) continue;
    const ElfImage* img;
    try {
      img = &image(*o);
    } catch (const Error&) {
      continue;
    }
    for (const ElfSymbol* s : img->find_symbols(name))
      if (s->dynamic && s->bind != STB_LOCAL && s->section_index != SHN_UNDEF && s->type != STT_TLS)
        return ResolvedSymbol{o, *s, RemoteAddr(s->value + o->bias)};
  }
  return std::nullopt;
}

ResolvedSymbol TargetObjects::resolve(const std::string& name, const LoadedObject* pinned, bool want_function,
                                      const std::vector<std::string>& excluded) const {
  if (auto r = try_resolve(name, pinned, want_function, excluded)) return *r;
  std::string where = pinned ? pinned->path : "the main executable or any loaded library";
  throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: no {}symbol '{}' in {}{}", process_.pid(),
                                                 want_function ? "function " : "", name, where, unreadable_objects()));
}

}  // namespace hotpatch

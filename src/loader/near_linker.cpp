#include "loader/near_linker.h"

#include <elf.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>

#include "common/error.h"
#include "loader/process.h"
#include "loader/target_objects.h"

namespace hotpatch {

namespace {
constexpr uint64_t kPage = 4096;

// A creator reference that holds the absolute address of a target symbol (a GOT
// slot of the patch, a pointer in its data) to a global name: bound like a
// dynamic relocation, in the global scope, not to the pinned object's definition.
bool binds_globally(const PatchTargetReloc& t) {
  return t.type == R_X86_64_64 && t.target_symbol.find("::") == std::string::npos;
}

// A TARGET_RELOC to the patch's own symbol (docs/patch-format.md): `hotpatch create`
// writes these for 32-bit absolute references of non-PIE code to the patch's own
// code and data, which no shared-object relocation can express.
constexpr std::string_view kOwnPrefix = "hotpatch.self:";
bool is_own(const std::string& name) { return name.starts_with(kOwnPrefix); }

std::string external_key(const std::string& name, bool bound_globally) {
  return bound_globally ? name + " (global scope)" : name;
}

bool supported(uint32_t type) {
  switch (type) {
    case R_X86_64_NONE: case R_X86_64_RELATIVE: case R_X86_64_64: case R_X86_64_GLOB_DAT: case R_X86_64_JUMP_SLOT:
    case R_X86_64_PC32: case R_X86_64_PLT32: case R_X86_64_32: case R_X86_64_32S:
      return true;
    default:
      return false;
  }
}
}  // namespace

NearLinker::NearLinker(const ElfImage& image, const PatchFile& patch) : patch_(image), file_(patch), path_(patch.path) {
  uint64_t end = 0;
  for (const auto& seg : patch_.load_segments()) end = std::max(end, seg.vaddr + seg.memsz);
  if (end == 0) throw Error(ErrorKind::BadPatchFile, fmt::format("{}: has no loadable segment", path_));
  span_ = (end + kPage - 1) & ~(kPage - 1);
  if (patch_.section(".tdata") || patch_.section(".tbss"))
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: HOTPATCH_LINK_NEAR patches cannot have thread-local data", path_));
  for (const char* init : {".init_array", ".init", ".preinit_array"}) {
    auto s = patch_.section(init);
    // An .init_array holding only the frame_dummy of crtbegin is still a constructor
    // we would have to run; creator output is linked without start files.
    if (s && s->size) throw Error(ErrorKind::BadPatchFile,
                                  fmt::format("{}: HOTPATCH_LINK_NEAR patches cannot have constructors ({}); link with "
                                              "-nostartfiles", path_, init));
  }
  for (const auto& t : file_.target_relocs) {
    if (!is_own(t.target_symbol) || own_.count(t.target_symbol)) continue;
    std::string name = t.target_symbol.substr(kOwnPrefix.size());
    for (const ElfSymbol* s : patch_.find_symbols(name))
      if (s->section_index != SHN_UNDEF) own_[t.target_symbol] = s->value;
    if (!own_.count(t.target_symbol))
      throw Error(ErrorKind::BadPatchFile, fmt::format("{}: TARGET_RELOC '{}': the patch has no symbol '{}'", path_,
                                                       t.target_symbol, name));
  }
  relocations_ = patch_.dynamic_relocations();
  for (const auto& r : relocations_) {
    if (!supported(r.type))
      throw Error(ErrorKind::BadPatchFile, fmt::format("{}: relocation type {} at {:#x} is not supported for "
                                                       "HOTPATCH_LINK_NEAR patches", path_, r.type, r.offset));
    if (!r.symbol.empty() && r.symbol_type == STT_TLS)
      throw Error(ErrorKind::BadPatchFile, fmt::format("{}: refers to thread-local '{}'", path_, r.symbol));
  }
}

void NearLinker::resolve(const TargetObjects& objects, const LoadedObject* pinned, const std::vector<std::string>& excluded) {
  struct Wanted {
    std::string name;
    bool weak = false;
    bool bound_globally = false;
  };
  std::vector<Wanted> wanted;
  for (const auto& r : relocations_)
    if (!r.symbol.empty() && !r.symbol_defined) wanted.push_back({r.symbol, r.symbol_bind == STB_WEAK, false});
  for (const auto& t : file_.target_relocs)
    if (!is_own(t.target_symbol)) wanted.push_back({t.target_symbol, false, pinned && binds_globally(t)});
  std::map<std::string, External> found;
  for (const auto& w : wanted) {
    std::string key = external_key(w.name, w.bound_globally);
    if (found.count(key)) continue;
    External e;
    e.name = w.name;
    // The pinned object (or the main executable) first, its local symbols included;
    // then every loaded library's exports, as the dynamic linker would.
    auto sym = objects.try_resolve(w.name, pinned, false, excluded);
    if (!sym && pinned) sym = objects.try_resolve(w.name, nullptr, false, excluded);
    // An address of an exported variable or function of the pinned library, as its
    // GOT holds it: the dynamic linker bound that to the first object exporting the
    // name, which is the program when it uses the variable (a copy relocation).
    if (sym && w.bound_globally && sym->symbol.dynamic && sym->symbol.bind != STB_LOCAL)
      if (auto global = objects.resolve_exported(w.name, excluded)) sym = global;
    // The Core Runtime's shadow variable functions (<hotpatch/shadow.h>): the only
    // names ever bound in the runtime, which lookups otherwise skip.
    if (!sym && w.name.rfind("hotpatch_shadow_", 0) == 0) sym = objects.resolve_exported(w.name);
    if (sym) {
      e.address = sym->address.value();
      e.ifunc = sym->symbol.type == STT_GNU_IFUNC;
    } else if (!w.weak) {
      throw Error(ErrorKind::DoesNotFit, fmt::format("{}: refers to '{}', which the process does not have", path_, w.name));
    }
    found[key] = e;
  }
  externals_ = std::move(found);
  pinned_ = pinned != nullptr;
}

std::vector<NearLinker::Protection> NearLinker::link(const Process& process, RemoteAddr base,
                                                     const std::function<uint64_t(uint64_t)>& resolve_ifunc) const {
  const uint64_t bias = base.value();
  // The image as it will be in memory: file bytes of each PT_LOAD, zeros beyond.
  std::vector<uint8_t> image(span_, 0);
  for (const auto& seg : patch_.load_segments()) {
    if (seg.filesz == 0) continue;
    auto bytes = patch_.read_vaddr(seg.vaddr, seg.filesz);
    if (!bytes) throw Error(ErrorKind::BadPatchFile, fmt::format("{}: segment at {:#x} is truncated", path_, seg.vaddr));
    std::memcpy(&image[seg.vaddr], bytes->data(), bytes->size());
  }
  std::map<std::string, uint64_t> address_of;  // by external_key()
  for (const auto& [key, e] : externals_) address_of[key] = e.ifunc ? resolve_ifunc(e.address) : e.address;

  auto put = [&](uint64_t offset, const void* value, size_t len) {
    if (offset + len > image.size() || offset + len < offset)
      throw Error(ErrorKind::BadPatchFile, fmt::format("{}: relocation at {:#x} is outside the image", path_, offset));
    std::memcpy(&image[offset], value, len);
  };
  // ELF relocations of the image, then the creator's references to the target.
  std::vector<std::pair<ElfImage::Relocation, std::string>> all;  // with the external_key of its symbol
  for (const auto& r : relocations_) all.emplace_back(r, r.symbol);
  for (const auto& t : file_.target_relocs) {
    ElfImage::Relocation r;
    r.offset = t.place_vaddr;
    r.type = t.type;
    r.addend = t.addend;
    r.symbol = t.target_symbol;
    if (auto own = own_.find(t.target_symbol); own != own_.end()) {
      r.symbol_defined = true;
      r.symbol_value = own->second;
    }
    all.emplace_back(std::move(r), external_key(t.target_symbol, pinned_ && binds_globally(t)));
  }
  for (const auto& [r, key] : all) {
    if (r.type == R_X86_64_NONE) continue;
    uint64_t symbol = 0;
    if (!r.symbol.empty()) {
      if (r.symbol_defined) {
        if (r.symbol_type == STT_GNU_IFUNC)
          throw Error(ErrorKind::BadPatchFile, fmt::format("{}: defines IFUNC '{}'; not supported here", path_, r.symbol));
        symbol = bias + r.symbol_value;
      } else {
        symbol = address_of.at(key);
      }
    }
    const uint64_t place = bias + r.offset;
    switch (r.type) {
      case R_X86_64_RELATIVE: {
        uint64_t v = bias + r.addend;
        put(r.offset, &v, 8);
        break;
      }
      case R_X86_64_64: {
        uint64_t v = symbol + r.addend;
        put(r.offset, &v, 8);
        break;
      }
      case R_X86_64_GLOB_DAT: case R_X86_64_JUMP_SLOT:
        put(r.offset, &symbol, 8);
        break;
      case R_X86_64_PC32: case R_X86_64_PLT32: {
        int64_t v = static_cast<int64_t>(symbol + r.addend - place);
        if (v != static_cast<int32_t>(v))
          throw Error(ErrorKind::DoesNotFit, fmt::format("{}: '{}' is out of reach of a 32-bit PC-relative reference at {:#x}",
                                                         path_, r.symbol, place));
        int32_t v32 = static_cast<int32_t>(v);
        put(r.offset, &v32, 4);
        break;
      }
      case R_X86_64_32: case R_X86_64_32S: {
        uint64_t v = symbol + r.addend;
        bool fits = r.type == R_X86_64_32 ? v <= UINT32_MAX : static_cast<int64_t>(v) == static_cast<int32_t>(v);
        if (!fits) throw Error(ErrorKind::DoesNotFit, fmt::format("{}: '{}' does not fit a 32-bit absolute reference", path_, r.symbol));
        uint32_t v32 = static_cast<uint32_t>(v);
        put(r.offset, &v32, 4);
        break;
      }
    }
  }
  process.write(base, image.data(), image.size());

  std::vector<Protection> prots;
  for (const auto& seg : patch_.load_segments()) {
    uint64_t start = seg.vaddr & ~(kPage - 1);
    uint64_t end = (seg.vaddr + seg.memsz + kPage - 1) & ~(kPage - 1);
    int prot = ((seg.flags & PF_R) ? PROT_READ : 0) | ((seg.flags & PF_W) ? PROT_WRITE : 0) | ((seg.flags & PF_X) ? PROT_EXEC : 0);
    prots.push_back({base + static_cast<int64_t>(start), end - start, prot});
  }
  return prots;
}

}  // namespace hotpatch

// Reading a patch's ".hotpatch" records (docs/patch-format.md). Everything is
// checked here, from the file alone, so that the loader never has to discover a
// malformed patch halfway through changing a process.
#include "elf/patch_file.h"

#include <elf.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include <hotpatch/patch.h>

#include "common/error.h"
#include "elf/unwind_table.h"
#include "trust/signature.h"

namespace hotpatch {

namespace {

constexpr uint64_t kRecordSize = 32;
constexpr uint64_t kNameOffset = 8, kAddrOffset = 16, kReservedOffset = 24;
constexpr size_t kMaxStringLength = 64 * 1024;
constexpr size_t kMaxIdLength = 64;
constexpr size_t kMaxBuildIdHexLength = 128;  // 64 bytes: more than any hash ld offers

static_assert(sizeof(hotpatch_record) == kRecordSize, "docs/patch-format.md fixes the record at 32 bytes");

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw Error(ErrorKind::BadPatchFile, path + ": " + reason);
}

template <typename T>
T load(const std::vector<uint8_t>& bytes, uint64_t offset) {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof(T));  // callers check the size first
  return value;
}

const char* kind_name(uint16_t kind) {
  switch (kind) {
    case HOTPATCH_KIND_REPLACE: return "REPLACE";
    case HOTPATCH_KIND_REF: return "REF";
    case HOTPATCH_KIND_ID: return "ID";
    case HOTPATCH_KIND_DESCRIPTION: return "DESCRIPTION";
    case HOTPATCH_KIND_BUILD_ID: return "BUILD_ID";
    case HOTPATCH_KIND_OBJECT: return "OBJECT";
    case HOTPATCH_KIND_LINK_NEAR: return "LINK_NEAR";
    case HOTPATCH_KIND_TARGET_RELOC: return "TARGET_RELOC";
    case HOTPATCH_KIND_PRE_APPLY: return "PRE_APPLY";
    case HOTPATCH_KIND_POST_APPLY: return "POST_APPLY";
    case HOTPATCH_KIND_PRE_REVERT: return "PRE_REVERT";
    case HOTPATCH_KIND_POST_REVERT: return "POST_REVERT";
    case HOTPATCH_KIND_SHADOW: return "SHADOW_ID";
    default: return nullptr;
  }
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string default_id(const std::string& path) {
  std::string name = base_name(path);
  if (name.size() > 3 && name.ends_with(".so")) name.resize(name.size() - 3);
  return name;
}

// Why `id` is unusable, or empty if it is fine. Ids appear in the command line
// (revert ID), in the registry and in messages, so they stay plain tokens.
std::string id_problem(const std::string& id) {
  if (id.empty()) return "is empty";
  if (id.size() > kMaxIdLength) return fmt::format("is {} characters long (at most {})", id.size(), kMaxIdLength);
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '+' || c == '-';
    if (!ok) return "has characters outside [A-Za-z0-9._+-]";
  }
  return {};
}

std::optional<std::string> normalized_build_id(const std::string& text) {
  if (text.empty() || text.size() % 2 != 0 || text.size() > kMaxBuildIdHexLength) return std::nullopt;
  std::string lower;
  for (char c : text) {
    char l = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
    if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'))) return std::nullopt;
    lower.push_back(l);
  }
  return lower;
}

// Printable form of a string from the file, for messages: one line, bounded.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text.substr(0, 80)) out.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
  if (text.size() > 80) out += "...";
  return out + "'";
}

std::string unsupported_version(uint16_t version) {
  return fmt::format("unsupported patch format version {} (this hotpatch reads 1 to {})", version,
                     HOTPATCH_FORMAT_VERSION);
}

const ElfSegment* segment_holding(const ElfImage& image, uint64_t vaddr, uint64_t len, uint32_t flag,
                                  bool file_backed) {
  for (const ElfSegment& seg : image.load_segments()) {
    if ((seg.flags & flag) == 0 || vaddr < seg.vaddr) continue;
    uint64_t extent = file_backed ? seg.filesz : seg.memsz;
    uint64_t delta = vaddr - seg.vaddr;
    if (delta <= extent && len <= extent - delta) return &seg;
  }
  return nullptr;
}

class RecordReader {
 public:
  RecordReader(const ElfImage& image, const std::string& path, PatchFile& patch)
      : image_(image), path_(path), patch_(patch) {}

  void read_all(const ElfImage::Section& section) {
    const uint64_t count = section.size / kRecordSize;
    for (uint64_t i = 0; i < count; ++i) read_one(section, i);
  }

 private:
  [[noreturn]] void record_fail(uint64_t index, const std::string& reason) const {
    fail(path_, fmt::format(".hotpatch record {}: {}", index, reason));
  }

  void read_one(const ElfImage::Section& section, uint64_t index) {
    const uint64_t at = index * kRecordSize;
    const uint64_t record_vaddr = section.addr + at;
    auto magic = load<uint32_t>(section.data, at);
    auto version = load<uint16_t>(section.data, at + 4);
    auto kind = load<uint16_t>(section.data, at + 6);
    if (magic != HOTPATCH_RECORD_MAGIC) {
      record_fail(index, fmt::format("bad magic {:#010x} (expected {:#010x}): malformed record", magic,
                                     HOTPATCH_RECORD_MAGIC));
    }
    if (version < 1 || version > HOTPATCH_FORMAT_VERSION) fail(path_, unsupported_version(version));
    const char* kind_text = kind_name(kind);
    if (kind_text == nullptr) record_fail(index, fmt::format("unknown record kind {}: malformed record", kind));
    // A kind is at least as new as the version that introduced it (patch.h).
    if (version < HOTPATCH_RECORD_VERSION(kind))
      record_fail(index, fmt::format("{} record of version {}; the kind needs version {}: malformed record", kind_text,
                                     version, HOTPATCH_RECORD_VERSION(kind)));
    patch_.format_version = std::max<uint32_t>(patch_.format_version, version);
    auto reserved_field = load<uint64_t>(section.data, at + kReservedOffset);
    if (kind == HOTPATCH_KIND_TARGET_RELOC) {
      // Kinds that use the third word: relocation type and addend; the shadow id.
      std::string name = read_name(index, kind_text, record_vaddr + kNameOffset);
      return add_target_reloc(index, name, record_vaddr + kAddrOffset, reserved_field);
    }
    if (kind == HOTPATCH_KIND_SHADOW) {
      std::string name = read_name(index, kind_text, record_vaddr + kNameOffset);
      for (const auto& s : patch_.shadow_ids)
        if (s.id == reserved_field) return;  // declared in several files of the patch
      patch_.shadow_ids.push_back({reserved_field, name});
      return;
    }
    if (auto reserved = reserved_field; reserved != 0) {
      record_fail(index, fmt::format("{}: reserved field is {:#x}, must be 0: malformed record", kind_text, reserved));
    }

    std::string name = read_name(index, kind_text, record_vaddr + kNameOffset);
    if (kind == HOTPATCH_KIND_REPLACE) return add_replacement(index, name, record_vaddr + kAddrOffset);
    if (kind == HOTPATCH_KIND_REF) return add_ref(index, name, record_vaddr + kAddrOffset);
    if (!seen_once_.emplace(kind, index).second) {
      fail(path_, fmt::format("more than one HOTPATCH_{} record (records {} and {})", kind_text,
                              seen_once_[kind], index));
    }
    if (kind == HOTPATCH_KIND_ID) {
      if (auto problem = id_problem(name); !problem.empty()) {
        fail(path_, fmt::format("patch id {} {} (HOTPATCH_ID)", quoted(name), problem));
      }
      patch_.id = name;
    } else if (kind == HOTPATCH_KIND_DESCRIPTION) {
      patch_.description = name;
    } else if (kind == HOTPATCH_KIND_BUILD_ID) {
      auto hex = normalized_build_id(name);
      if (!hex) {
        fail(path_, fmt::format("bad build-id hex {} in HOTPATCH_BUILD_ID (want an even number of hex "
                                "digits, as `readelf -n` prints)", quoted(name)));
      }
      patch_.build_id = *hex;
    } else if (kind == HOTPATCH_KIND_OBJECT) {
      if (name.empty()) fail(path_, "HOTPATCH_OBJECT names no object (empty string)");
      patch_.object = name;
    } else if (kind == HOTPATCH_KIND_LINK_NEAR) {
      patch_.link_near = true;
    } else if (auto* slot = callback_slot(kind)) {
      *slot = PatchCallback{name, function_at(index, kind_text, name, record_vaddr + kAddrOffset, nullptr)};
    }
  }

  std::optional<PatchCallback>* callback_slot(uint16_t kind) {
    switch (kind) {
      case HOTPATCH_KIND_PRE_APPLY: return &patch_.pre_apply;
      case HOTPATCH_KIND_POST_APPLY: return &patch_.post_apply;
      case HOTPATCH_KIND_PRE_REVERT: return &patch_.pre_revert;
      case HOTPATCH_KIND_POST_REVERT: return &patch_.post_revert;
      default: return nullptr;
    }
  }

  // The function a record's addr points to: in an executable segment, and at the
  // start of a function when the symbol table says which one covers it.
  uint64_t function_at(uint64_t index, const char* kind_text, const std::string& name, uint64_t field_vaddr,
                       const ElfSymbol** symbol) const {
    auto vaddr = image_.relocated_pointer(field_vaddr);
    if (!vaddr) {
      record_fail(index, fmt::format("{} {}: the function is not one of the patch (an undefined symbol, or no "
                                     "relocation at {:#x})", kind_text, quoted(name), field_vaddr));
    }
    if (segment_holding(image_, *vaddr, 1, PF_X, true) == nullptr) {
      record_fail(index, fmt::format("{} {}: the function at {:#x} is not in an executable segment of the patch",
                                     kind_text, quoted(name), *vaddr));
    }
    const ElfSymbol* fn = image_.function_containing(*vaddr);
    if (fn && fn->value != *vaddr) {
      record_fail(index, fmt::format("{} {}: the function at {:#x} points into the middle of function {} (at {:#x})",
                                     kind_text, quoted(name), *vaddr, fn->name, fn->value));
    }
    if (symbol) *symbol = fn;
    return *vaddr;
  }

  std::string read_name(uint64_t index, const char* kind_text, uint64_t field_vaddr) const {
    auto pointer = image_.relocated_pointer(field_vaddr);
    if (!pointer) {
      record_fail(index, fmt::format("{}: the name is not a pointer into the patch (no dynamic relocation "
                                     "at {:#x}): malformed record", kind_text, field_vaddr));
    }
    auto text = image_.read_cstring(*pointer, kMaxStringLength);
    if (!text) {
      record_fail(index, fmt::format("{}: the name at {:#x} is not a NUL-terminated string in the file "
                                     "(truncated?)", kind_text, *pointer));
    }
    return *text;
  }

  void add_replacement(uint64_t index, const std::string& target, uint64_t field_vaddr) {
    if (target.empty()) record_fail(index, "REPLACE: empty target symbol name");
    const ElfSymbol* fn = nullptr;
    PatchReplacement replacement{target, function_at(index, "REPLACE", target, field_vaddr, &fn), 0, {}};
    if (fn) {
      replacement.replacement_size = fn->size;
      replacement.replacement_name = fn->name;
    }
    if (auto [it, fresh] = replaced_by_record_.emplace(target, index); !fresh) {
      fail(path_, fmt::format("symbol {} is replaced twice (records {} and {})", quoted(target), it->second, index));
    }
    patch_.replacements.push_back(std::move(replacement));
  }

  void add_target_reloc(uint64_t index, const std::string& target, uint64_t field_vaddr, uint64_t type_and_addend) {
    if (target.empty()) record_fail(index, "TARGET_RELOC: empty target symbol name");
    auto place = image_.relocated_pointer(field_vaddr);
    if (!place) record_fail(index, fmt::format("TARGET_RELOC {}: the place is not in the patch", quoted(target)));
    PatchTargetReloc r;
    r.target_symbol = target;
    r.place_vaddr = *place;
    r.type = static_cast<uint32_t>(type_and_addend & 0xffffffffu);
    r.addend = static_cast<int32_t>(type_and_addend >> 32);
    if (r.type != R_X86_64_PC32 && r.type != R_X86_64_PLT32 && r.type != R_X86_64_64 && r.type != R_X86_64_32 &&
        r.type != R_X86_64_32S)
      record_fail(index, fmt::format("TARGET_RELOC {}: relocation type {} is not supported", quoted(target), r.type));
    size_t width = r.type == R_X86_64_64 ? 8 : 4;
    if (segment_holding(image_, r.place_vaddr, width, PF_R, false) == nullptr)
      record_fail(index, fmt::format("TARGET_RELOC {}: place {:#x} is outside the patch's segments", quoted(target),
                                     r.place_vaddr));
    patch_.target_relocs.push_back(std::move(r));
  }

  void add_ref(uint64_t index, const std::string& target, uint64_t field_vaddr) {
    if (target.empty()) record_fail(index, "REF: empty target symbol name");
    auto slot = image_.relocated_pointer(field_vaddr);
    if (!slot) {
      record_fail(index, fmt::format("REF {}: the slot is not a variable of the patch (no relocation at "
                                     "{:#x})", quoted(target), field_vaddr));
    }
    // The slot may be in .bss (HOTPATCH_REF declares a zero-initialised variable).
    if (segment_holding(image_, *slot, 8, PF_W, false) == nullptr) {
      record_fail(index, fmt::format("REF {}: the 8-byte slot at {:#x} is not in a writable segment of the "
                                     "patch", quoted(target), *slot));
    }
    // With a symbol table we can also tell a pointer from a wider variable.
    for (const ElfSymbol& sym : image_.symbols()) {
      if (sym.value == *slot && sym.type == STT_OBJECT && sym.size != 0 && sym.size != 8) {
        record_fail(index, fmt::format("REF {}: the slot {} is {} bytes, not a pointer (8 bytes)",
                                       quoted(target), sym.name, sym.size));
      }
    }
    patch_.refs.push_back({target, *slot});
  }

  const ElfImage& image_;
  const std::string& path_;
  PatchFile& patch_;
  std::map<uint16_t, uint64_t> seen_once_;               // kind -> record index
  std::map<std::string, uint64_t> replaced_by_record_;   // target -> record index
};

}  // namespace

PatchFile parse_patch(const ElfImage& image, const std::string& path) {
  if (image.elf_type() != ET_DYN) {
    fail(path, fmt::format("not a shared object (ELF type {}); build patches with cc -shared -fPIC",
                           image.elf_type()));
  }
  auto section = image.section(HOTPATCH_SECTION);
  if (!section) fail(path, "not a hotpatch file (no .hotpatch section)");
  if (section->type == SHT_NOBITS || section->data.size() != section->size) {
    fail(path, "malformed .hotpatch section: it has no contents in the file");
  }
  if (section->size == 0) fail(path, "not a hotpatch file (the .hotpatch section is empty)");
  // A later format may change the record size: report its version, not its size.
  if (section->size >= 8 && load<uint32_t>(section->data, 0) == HOTPATCH_RECORD_MAGIC &&
      (load<uint16_t>(section->data, 4) < 1 || load<uint16_t>(section->data, 4) > HOTPATCH_FORMAT_VERSION)) {
    fail(path, unsupported_version(load<uint16_t>(section->data, 4)));
  }
  if (section->size % kRecordSize != 0) {
    fail(path, fmt::format("malformed .hotpatch section: size {} is not a multiple of the {}-byte record "
                           "(truncated, or not written with <hotpatch/patch.h>)", section->size, kRecordSize));
  }

  PatchFile patch;
  patch.path = path;
  patch.format_version = 1;  // raised to the newest record version read
  patch.patch_build_id = image.build_id().value_or("");
  RecordReader(image, path, patch).read_all(*section);

  if (patch.replacements.empty()) {
    fail(path, "no replacement: a patch needs at least one HOTPATCH_REPLACE record");
  }
  if (!patch.target_relocs.empty() && !patch.link_near) {
    fail(path, "TARGET_RELOC records need HOTPATCH_LINK_NEAR (the patch must be linked near the target)");
  }
  if (patch.id.empty()) {
    patch.id = default_id(path);
    if (auto problem = id_problem(patch.id); !problem.empty()) {
      fail(path, fmt::format("patch id {} (from the file name) {}; rename the file or add HOTPATCH_ID",
                             quoted(patch.id), problem));
    }
  }
  if (auto eh = image.section(".eh_frame"); eh && (eh->flags & SHF_ALLOC) && eh->size > 0 && eh->type != SHT_NOBITS) {
    if (!segment_holding(image, eh->addr, eh->size, PF_R, true))
      fail(path, fmt::format(".eh_frame at {:#x} is not inside a loadable segment", eh->addr));
    UnwindTable table = parse_unwind_table(eh->data, path);
    if (table.fde_count() > 0) {
      patch.unwind_vaddr = eh->addr;
      patch.unwind_functions = table.fde_count();
      patch.unwind_terminated = table.terminated;
    }
  }
  bool first = true;
  for (const ElfSegment& seg : image.load_segments()) {
    if ((seg.flags & PF_X) == 0) continue;
    patch.text_vaddr_start = first ? seg.vaddr : std::min(patch.text_vaddr_start, seg.vaddr);
    patch.text_vaddr_end = first ? seg.vaddr + seg.memsz : std::max(patch.text_vaddr_end, seg.vaddr + seg.memsz);
    first = false;
  }
  return patch;
}

std::shared_ptr<const std::vector<uint8_t>> read_patch_bytes(const std::string& path, std::string& resolved) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) {
    throw Error(ErrorKind::BadPatchFile, errno_message(path, errno));
  }
  resolved = real;
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  std::string error;
  if (!trust::read_file(resolved, *bytes, error)) throw Error(ErrorKind::BadPatchFile, error);
  return bytes;
}

PatchFile parse_patch_bytes(std::shared_ptr<const std::vector<uint8_t>> bytes, const std::string& resolved) {
  PatchFile patch = parse_patch(ElfImage::from_bytes(*bytes, resolved), resolved);
  patch.sha256 = trust::sha256_hex(bytes->data(), bytes->size());
  patch.bytes = std::move(bytes);
  return patch;
}

PatchFile read_patch_file(const std::string& path) {
  std::string resolved;
  auto bytes = read_patch_bytes(path, resolved);
  return parse_patch_bytes(std::move(bytes), resolved);
}

}  // namespace hotpatch

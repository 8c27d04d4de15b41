// ElfImage: libelf parses the ELF, section and program headers (it checks that
// those tables lie inside the file, except for one gap closed below); everything
// inside a section or segment is read here, from byte ranges that were checked
// against the file size first. The file is
// read into memory once, so a file changing on disk under us cannot matter and
// open() and from_bytes() are the same code.
#include "elf/elf_image.h"

#include <fcntl.h>
#include <gelf.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.h"

namespace hotpatch {

namespace {

// Spelled out: elf.h from glibc before 2.36 lacks SHT_RELR.
constexpr uint32_t kSectionTypeRelr = 19;

struct SectionInfo {
  std::string name;
  uint32_t type = 0;
  uint64_t flags = 0, addr = 0, offset = 0, size = 0;
  uint32_t link = 0, info = 0, name_index = 0;
  bool in_file() const { return type != SHT_NOBITS && type != SHT_NULL; }
};

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw Error(ErrorKind::BadPatchFile, path + ": " + reason);
}

// [offset, offset+size) inside a buffer of buffer_size bytes, without overflow.
bool range_fits(uint64_t offset, uint64_t size, uint64_t buffer_size) {
  return offset <= buffer_size && size <= buffer_size - offset;
}

template <typename T>
T load(std::span<const uint8_t> bytes, uint64_t offset) {
  T value{};
  if (range_fits(offset, sizeof(T), bytes.size())) std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// A NUL-terminated string at `index` of a string table, or nullopt when the index is
// out of range or the string runs off the end of the table.
std::optional<std::string_view> string_at(std::span<const uint8_t> table, uint64_t index) {
  if (index >= table.size()) return std::nullopt;
  const char* start = reinterpret_cast<const char*>(table.data()) + index;
  const void* nul = std::memchr(start, '\0', table.size() - index);
  if (nul == nullptr) return std::nullopt;
  return std::string_view(start, static_cast<const char*>(nul) - start);
}

void ensure_libelf_initialised() {
  static const bool ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!ready) throw Error(ErrorKind::Internal, "libelf: version mismatch");
}

// The whole file, mapped privately (copy-on-write: libelf never writes to a file it
// reads, but a private mapping would make even that harmless). Mapping instead of
// reading: the loader opens every object of the target and touches a few pages of
// most of them (measured: `list` on a 20-object process spent most of its time
// copying files in). A file truncated under us while mapped would raise SIGBUS in the
// CLI, before it touches any process: system libraries are replaced by rename, not
// rewritten in place.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    struct FileDescriptor {
      int fd;
      ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
      }
    } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    struct stat st {};
    if (file.fd < 0 || ::fstat(file.fd, &st) != 0) throw Error(ErrorKind::BadPatchFile, errno_message(path, errno));
    if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::BadPatchFile, errno_message(path, EISDIR));
    if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
    identity_ = FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    if (st.st_size == 0) return;  // parse_headers says "not an ELF file"
    size_ = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.fd, 0);
    if (p == MAP_FAILED) throw Error(ErrorKind::BadPatchFile, errno_message(path, errno));
    data_ = static_cast<uint8_t*>(p);
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const FileIdentity& identity() const { return identity_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  FileIdentity identity_;
};

}  // namespace

struct ElfImage::Impl {
  std::string path;
  // The file's bytes: `owned` (from_bytes) or `mapped` (open).
  std::vector<uint8_t> owned;
  std::unique_ptr<MappedFile> mapped;
  std::span<uint8_t> bytes;
  Elf* elf = nullptr;
  uint16_t type = 0;
  std::vector<ElfSegment> loads;
  std::vector<GElf_Phdr> program_headers;
  std::vector<SectionInfo> sections;
  std::optional<std::string> build_id, soname, debuglink;

  // Built on first use: most images the loader opens are only asked for a few things.
  std::once_flag symbols_once;
  std::vector<ElfSymbol> symbols;
  std::unordered_map<std::string_view, std::vector<size_t>> symbols_by_name;
  std::vector<size_t> functions_by_address;  // indices into symbols, sorted by value

  std::once_flag relocations_once;
  // r_offset -> pointer value; nullopt for a relocation of a kind we cannot resolve.
  std::unordered_map<uint64_t, std::optional<uint64_t>> pointer_at;

  ~Impl() {
    if (elf != nullptr) elf_end(elf);
  }

  std::span<const uint8_t> file() const { return bytes; }
  std::span<const uint8_t> contents(const SectionInfo& s) const {
    if (!s.in_file()) return {};
    return file().subspan(s.offset, s.size);  // checked at open
  }
  const SectionInfo* section_by_index(uint64_t index) const {
    return index < sections.size() ? &sections[index] : nullptr;
  }

  void parse_headers();
  void check_section_header_table(const GElf_Ehdr& ehdr);
  void parse_sections();
  void parse_segments();
  void find_build_id();
  void find_soname();
  // The strings of every dynamic entry with `tag` (DT_SONAME, DT_NEEDED), in order.
  std::vector<std::string> dynamic_strings(int64_t tag) const;
  void find_debuglink();
  void read_symbols();
  void read_symbol_table(const SectionInfo& table, bool dynamic, std::vector<ElfSymbol>& out);
  void index_symbols();
  void index_relocations();
  void index_rela(const SectionInfo& rela);
  void index_relr(const SectionInfo& relr);
  std::optional<std::span<const uint8_t>> vaddr_span(uint64_t vaddr, uint64_t len) const;
};

void ElfImage::Impl::parse_headers() {
  ensure_libelf_initialised();
  if (bytes.size() < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0) {
    fail(path, "not an ELF file");
  }
  if (bytes[EI_CLASS] != ELFCLASS64) fail(path, "not an x86_64 ELF64 file (32-bit ELF)");
  if (bytes[EI_DATA] != ELFDATA2LSB) fail(path, "not an x86_64 ELF64 file (big-endian ELF)");
  elf = elf_memory(reinterpret_cast<char*>(bytes.data()), bytes.size());
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    fail(path, fmt::format("truncated or corrupt ELF header ({})", elf_errmsg(-1)));
  }
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) {
    fail(path, fmt::format("truncated or corrupt ELF header ({})", elf_errmsg(-1)));
  }
  if (ehdr.e_machine != EM_X86_64) {
    fail(path, fmt::format("not an x86_64 ELF64 file (machine {})", ehdr.e_machine));
  }
  type = ehdr.e_type;
  check_section_header_table(ehdr);
  parse_segments();
  parse_sections();
  find_build_id();
  find_soname();
  find_debuglink();
}

// libelf quietly reports no sections at all when their header table lies past the
// end of the file, which is exactly what a truncated file looks like: say so instead.
void ElfImage::Impl::check_section_header_table(const GElf_Ehdr& ehdr) {
  if (ehdr.e_shoff == 0) return;  // no section headers, legitimately
  uint64_t count = ehdr.e_shnum;
  if (count == 0 && range_fits(ehdr.e_shoff, sizeof(Elf64_Shdr), bytes.size())) {
    count = load<Elf64_Shdr>(file(), ehdr.e_shoff).sh_size;  // extended numbering: count in entry 0
  }
  if (ehdr.e_shentsize != sizeof(Elf64_Shdr) || count == 0 || count > bytes.size() / sizeof(Elf64_Shdr) ||
      !range_fits(ehdr.e_shoff, count * sizeof(Elf64_Shdr), bytes.size())) {
    fail(path, fmt::format("truncated or corrupt: {} section headers at file offset {:#x} do not fit in the "
                           "file ({:#x} bytes)", count, ehdr.e_shoff, bytes.size()));
  }
}

void ElfImage::Impl::parse_segments() {
  size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) {
    fail(path, fmt::format("corrupt program header table ({})", elf_errmsg(-1)));
  }
  for (size_t i = 0; i < count; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr) {
      fail(path, fmt::format("corrupt program header {} ({})", i, elf_errmsg(-1)));
    }
    program_headers.push_back(phdr);
    if (phdr.p_type != PT_LOAD) continue;
    if (phdr.p_filesz > phdr.p_memsz || phdr.p_vaddr + phdr.p_memsz < phdr.p_vaddr) {
      fail(path, fmt::format("corrupt PT_LOAD at vaddr {:#x} (filesz {:#x}, memsz {:#x})",
                             phdr.p_vaddr, phdr.p_filesz, phdr.p_memsz));
    }
    // Separate debug files (eu-strip -f) keep the program headers of the original,
    // whose file ranges point past their end; such a segment has no bytes here.
    // A truncated file is still caught: its section headers were at the end.
    uint64_t filesz = range_fits(phdr.p_offset, phdr.p_filesz, bytes.size()) ? phdr.p_filesz : 0;
    loads.push_back({phdr.p_vaddr, phdr.p_memsz, phdr.p_offset, filesz, phdr.p_flags});
  }
}

void ElfImage::Impl::parse_sections() {
  size_t count = 0, names_index = 0;
  if (elf_getshdrnum(elf, &count) != 0) {
    fail(path, fmt::format("corrupt section header table ({})", elf_errmsg(-1)));
  }
  if (count == 0) return;  // section headers stripped: segments still work
  if (elf_getshdrstrndx(elf, &names_index) != 0) names_index = SHN_UNDEF;
  for (size_t i = 0; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(elf, i);
    GElf_Shdr shdr;
    if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr) {
      fail(path, fmt::format("corrupt section header {} ({})", i, elf_errmsg(-1)));
    }
    SectionInfo s;
    s.type = shdr.sh_type;
    s.flags = shdr.sh_flags;
    s.addr = shdr.sh_addr;
    s.offset = shdr.sh_offset;
    s.size = shdr.sh_size;
    s.link = shdr.sh_link;
    s.info = shdr.sh_info;
    s.name_index = shdr.sh_name;
    if (s.in_file() && !range_fits(s.offset, s.size, bytes.size())) {
      fail(path, fmt::format("truncated: section {} at file offset {:#x} size {:#x} extends past the "
                             "end of the file ({:#x} bytes)", i, s.offset, s.size, bytes.size()));
    }
    sections.push_back(std::move(s));
  }
  // Names last: the section name table is itself one of the sections just checked.
  const SectionInfo* names = section_by_index(names_index);
  if (names == nullptr || names->type != SHT_STRTAB) return;
  std::span<const uint8_t> table = contents(*names);
  for (SectionInfo& s : sections) s.name = std::string(string_at(table, s.name_index).value_or(""));
}

void ElfImage::Impl::find_build_id() {
  // Notes come as a PT_NOTE segment in executables and as SHT_NOTE sections in files
  // without program headers (separate debug files); either will do.
  std::vector<std::pair<std::span<const uint8_t>, uint64_t>> note_areas;  // bytes, alignment
  for (const GElf_Phdr& ph : program_headers) {
    if (ph.p_type == PT_NOTE && range_fits(ph.p_offset, ph.p_filesz, bytes.size())) {
      note_areas.emplace_back(file().subspan(ph.p_offset, ph.p_filesz), ph.p_align);
    }
  }
  for (const SectionInfo& s : sections) {
    if (s.type == SHT_NOTE) note_areas.emplace_back(contents(s), 0);
  }
  for (auto [area, alignment] : note_areas) {
    const uint64_t align = alignment == 8 ? 8 : 4;
    auto round_up = [align](uint64_t n) { return (n + align - 1) & ~(align - 1); };
    uint64_t pos = 0;
    while (range_fits(pos, 12, area.size())) {
      uint32_t name_size = load<uint32_t>(area, pos), desc_size = load<uint32_t>(area, pos + 4);
      uint32_t note_type = load<uint32_t>(area, pos + 8);
      uint64_t name_pos = pos + 12;
      uint64_t desc_pos = name_pos + round_up(name_size);  // 32-bit sizes: no overflow
      if (!range_fits(name_pos, name_size, area.size()) || !range_fits(desc_pos, desc_size, area.size())) {
        break;
      }
      bool gnu = name_size == 4 && std::memcmp(area.data() + name_pos, "GNU", 4) == 0;
      if (gnu && note_type == NT_GNU_BUILD_ID && desc_size > 0) {
        build_id = to_hex({area.begin() + desc_pos, area.begin() + desc_pos + desc_size});
        return;
      }
      pos = desc_pos + round_up(desc_size);
    }
  }
}

void ElfImage::Impl::find_soname() {
  auto names = dynamic_strings(DT_SONAME);
  if (!names.empty()) soname = names.front();
}

std::vector<std::string> ElfImage::Impl::dynamic_strings(int64_t tag) const {
  std::vector<std::string> out;
  for (const SectionInfo& s : sections) {
    if (s.type != SHT_DYNAMIC) continue;
    const SectionInfo* strings = section_by_index(s.link);
    if (strings == nullptr || strings->type != SHT_STRTAB) continue;
    std::span<const uint8_t> entries = contents(s);
    for (uint64_t pos = 0; range_fits(pos, sizeof(Elf64_Dyn), entries.size()); pos += sizeof(Elf64_Dyn)) {
      auto entry = load<Elf64_Dyn>(entries, pos);
      if (entry.d_tag == DT_NULL) break;
      if (entry.d_tag == tag)
        if (auto name = string_at(contents(*strings), entry.d_un.d_val)) out.emplace_back(*name);
    }
  }
  return out;
}

void ElfImage::Impl::find_debuglink() {
  for (const SectionInfo& s : sections) {
    if (s.name == ".gnu_debuglink" && s.in_file()) {
      if (auto name = string_at(contents(s), 0); name && !name->empty()) debuglink = std::string(*name);
      return;
    }
  }
}

void ElfImage::Impl::read_symbols() {
  std::vector<ElfSymbol> statics, dynamics;
  for (const SectionInfo& s : sections) {
    if (s.type == SHT_SYMTAB) read_symbol_table(s, false, statics);
    if (s.type == SHT_DYNSYM) read_symbol_table(s, true, dynamics);
  }
  // A .dynsym entry folds into its .symtab twin, which knows the source file.
  std::unordered_map<std::string_view, std::vector<size_t>> statics_by_name;
  for (size_t i = 0; i < statics.size(); ++i) statics_by_name[statics[i].name].push_back(i);
  std::vector<ElfSymbol> dynamic_only;
  for (ElfSymbol& dyn : dynamics) {
    bool merged = false;
    if (auto it = statics_by_name.find(dyn.name); it != statics_by_name.end()) {
      for (size_t i : it->second) {
        if (statics[i].value != dyn.value) continue;
        statics[i].dynamic = true;
        merged = true;
      }
    }
    if (!merged) dynamic_only.push_back(std::move(dyn));
  }
  symbols = std::move(statics);
  symbols.reserve(symbols.size() + dynamic_only.size());
  for (ElfSymbol& sym : dynamic_only) symbols.push_back(std::move(sym));
  index_symbols();
}

void ElfImage::Impl::read_symbol_table(const SectionInfo& table, bool dynamic, std::vector<ElfSymbol>& out) {
  const SectionInfo* strings = section_by_index(table.link);
  if (strings == nullptr || strings->type != SHT_STRTAB) return;
  std::span<const uint8_t> entries = contents(table), names = contents(*strings);
  // .gnu.version: one half-word per .dynsym entry. A hidden version (memcpy@GLIBC_2.2.5
  // beside the default memcpy@@GLIBC_2.14) only binds references that ask for that
  // version by name; a lookup by plain name, as the dynamic linker does for an
  // unversioned reference, must not see it.
  std::span<const uint8_t> versions;
  if (dynamic)
    for (const SectionInfo& v : sections)
      if (v.type == SHT_GNU_versym && v.link == static_cast<uint32_t>(&table - sections.data())) versions = contents(v);
  std::string current_file;
  // Growing the vector one symbol at a time moved every symbol (two strings each)
  // about twice over: with a debug file's tens of thousands, a sixth of an apply's CPU.
  out.reserve(out.size() + entries.size() / sizeof(Elf64_Sym));
  // Entry 0 is the reserved null symbol.
  for (uint64_t pos = sizeof(Elf64_Sym); range_fits(pos, sizeof(Elf64_Sym), entries.size());
       pos += sizeof(Elf64_Sym)) {
    auto raw = load<Elf64_Sym>(entries, pos);
    uint8_t sym_type = GELF_ST_TYPE(raw.st_info);
    auto name = string_at(names, raw.st_name);
    if (sym_type == STT_FILE) {
      current_file = std::string(name.value_or(""));
      continue;
    }
    if (sym_type == STT_SECTION || raw.st_shndx == SHN_UNDEF || !name || name->empty()) continue;
    uint64_t version_at = pos / sizeof(Elf64_Sym) * 2;
    if (range_fits(version_at, 2, versions.size()) && (load<uint16_t>(versions, version_at) & 0x8000)) continue;
    ElfSymbol sym;
    sym.name = std::string(*name);
    sym.value = raw.st_value;
    sym.size = raw.st_size;
    sym.type = sym_type;
    sym.bind = GELF_ST_BIND(raw.st_info);
    sym.section_index = raw.st_shndx;
    if (sym.bind == STB_LOCAL && !dynamic) sym.source_file = current_file;
    sym.dynamic = dynamic;
    out.push_back(std::move(sym));
  }
}

void ElfImage::Impl::index_symbols() {
  symbols_by_name.clear();
  functions_by_address.clear();
  for (size_t i = 0; i < symbols.size(); ++i) {
    const ElfSymbol& sym = symbols[i];
    symbols_by_name[sym.name].push_back(i);
    if ((sym.type == STT_FUNC || sym.type == STT_GNU_IFUNC) && sym.size > 0) {
      functions_by_address.push_back(i);
    }
  }
  std::stable_sort(functions_by_address.begin(), functions_by_address.end(),
                   [this](size_t a, size_t b) { return symbols[a].value < symbols[b].value; });
}

void ElfImage::Impl::index_relocations() {
  // Dynamic relocations are the allocated ones (.rela.dyn, .rela.plt, .relr.dyn);
  // sh_info==0 also marks a RELA section that applies to the whole image rather than
  // to one section of an object file.
  for (const SectionInfo& s : sections) {
    bool dynamic = (s.flags & SHF_ALLOC) != 0 || s.info == 0;
    if (s.type == SHT_RELA && dynamic) index_rela(s);
    if (s.type == kSectionTypeRelr) index_relr(s);
  }
}

void ElfImage::Impl::index_rela(const SectionInfo& rela) {
  const SectionInfo* symtab = section_by_index(rela.link);
  std::span<const uint8_t> symbol_bytes;
  if (symtab != nullptr && (symtab->type == SHT_DYNSYM || symtab->type == SHT_SYMTAB)) {
    symbol_bytes = contents(*symtab);
  }
  std::span<const uint8_t> entries = contents(rela);
  for (uint64_t pos = 0; range_fits(pos, sizeof(Elf64_Rela), entries.size()); pos += sizeof(Elf64_Rela)) {
    auto r = load<Elf64_Rela>(entries, pos);
    std::optional<uint64_t> value;
    uint32_t kind = ELF64_R_TYPE(r.r_info);
    if (kind == R_X86_64_RELATIVE) {
      value = static_cast<uint64_t>(r.r_addend);
    } else if (kind == R_X86_64_64) {
      uint64_t sym_offset = uint64_t{ELF64_R_SYM(r.r_info)} * sizeof(Elf64_Sym);
      if (ELF64_R_SYM(r.r_info) != 0 && range_fits(sym_offset, sizeof(Elf64_Sym), symbol_bytes.size())) {
        auto sym = load<Elf64_Sym>(symbol_bytes, sym_offset);
        uint8_t sym_type = GELF_ST_TYPE(sym.st_info);
        // An IFUNC's address is whatever its resolver returns at run time, and a TLS
        // symbol's value is an offset in the TLS block: neither is known from the file.
        if (sym.st_shndx != SHN_UNDEF && sym_type != STT_GNU_IFUNC && sym_type != STT_TLS) {
          value = sym.st_value + static_cast<uint64_t>(r.r_addend);
        }
      }
    }
    pointer_at[r.r_offset] = value;
  }
}

void ElfImage::Impl::index_relr(const SectionInfo& relr) {
  // RELR (-z pack-relative-relocs): relative relocations whose addend is the value
  // already stored at the location. An even entry is an address; an odd entry is a
  // bitmap of the 63 words that follow the previous address.
  std::span<const uint8_t> entries = contents(relr);
  auto add = [this](uint64_t where) {
    std::optional<uint64_t> value;
    if (auto stored = vaddr_span(where, 8)) value = load<uint64_t>(*stored, 0);
    pointer_at[where] = value;
  };
  uint64_t next = 0;
  for (uint64_t pos = 0; range_fits(pos, 8, entries.size()); pos += 8) {
    uint64_t entry = load<uint64_t>(entries, pos);
    if ((entry & 1) == 0) {
      add(entry);
      next = entry + 8;
      continue;
    }
    for (unsigned bit = 1; bit < 64; ++bit) {
      if ((entry >> bit) & 1) add(next + (bit - 1) * 8);
    }
    next += 63 * 8;
  }
}

std::optional<std::span<const uint8_t>> ElfImage::Impl::vaddr_span(uint64_t vaddr, uint64_t len) const {
  for (const ElfSegment& seg : loads) {
    if (vaddr < seg.vaddr) continue;
    uint64_t delta = vaddr - seg.vaddr;
    if (!range_fits(delta, len, seg.filesz)) continue;
    if (len == 0) return std::span<const uint8_t>();  // seg.offset may be meaningless when filesz is 0
    return file().subspan(seg.offset + delta, len);  // offset+filesz checked at open
  }
  return std::nullopt;
}

// ElfImage ----------------------------------------------------------------------------

ElfImage::ElfImage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ElfImage::ElfImage(ElfImage&&) noexcept = default;
ElfImage& ElfImage::operator=(ElfImage&&) noexcept = default;
ElfImage::~ElfImage() = default;

ElfImage ElfImage::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->mapped = std::make_unique<MappedFile>(path);
  impl->bytes = {impl->mapped->data(), impl->mapped->size()};
  impl->parse_headers();
  return ElfImage(std::move(impl));
}

ElfImage ElfImage::from_bytes(std::vector<uint8_t> bytes, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  impl->path = name;
  impl->owned = std::move(bytes);
  impl->bytes = impl->owned;
  impl->parse_headers();
  return ElfImage(std::move(impl));
}

const std::string& ElfImage::path() const { return impl_->path; }
std::optional<FileIdentity> ElfImage::file_identity() const {
  if (!impl_->mapped) return std::nullopt;
  return impl_->mapped->identity();
}
uint16_t ElfImage::elf_type() const { return impl_->type; }
std::optional<std::string> ElfImage::build_id() const { return impl_->build_id; }
std::vector<std::string> ElfImage::needed() const { return impl_->dynamic_strings(DT_NEEDED); }

std::vector<std::string> ElfImage::undefined_symbols() const {
  std::vector<std::string> out;
  for (const SectionInfo& s : impl_->sections) {
    if (s.type != SHT_DYNSYM) continue;
    const SectionInfo* strings = impl_->section_by_index(s.link);
    if (strings == nullptr || strings->type != SHT_STRTAB) continue;
    std::span<const uint8_t> entries = impl_->contents(s);
    for (uint64_t pos = sizeof(Elf64_Sym); range_fits(pos, sizeof(Elf64_Sym), entries.size()); pos += sizeof(Elf64_Sym)) {
      auto raw = load<Elf64_Sym>(entries, pos);
      if (raw.st_shndx != SHN_UNDEF || GELF_ST_BIND(raw.st_info) != STB_GLOBAL) continue;
      if (auto name = string_at(impl_->contents(*strings), raw.st_name); name && !name->empty()) out.emplace_back(*name);
    }
  }
  return out;
}
std::optional<std::string> ElfImage::soname() const { return impl_->soname; }
std::optional<std::string> ElfImage::debuglink() const { return impl_->debuglink; }

bool ElfImage::has_symtab() const {
  return std::any_of(impl_->sections.begin(), impl_->sections.end(),
                     [](const SectionInfo& s) { return s.type == SHT_SYMTAB; });
}

const std::vector<ElfSegment>& ElfImage::load_segments() const { return impl_->loads; }

const std::vector<ElfSymbol>& ElfImage::symbols() const {
  std::call_once(impl_->symbols_once, [this] { impl_->read_symbols(); });
  return impl_->symbols;
}

std::vector<const ElfSymbol*> ElfImage::find_symbols(std::string_view name) const {
  const auto& all = symbols();
  std::vector<const ElfSymbol*> found;
  if (auto it = impl_->symbols_by_name.find(name); it != impl_->symbols_by_name.end()) {
    for (size_t i : it->second) found.push_back(&all[i]);
  }
  return found;
}

const ElfSymbol* ElfImage::function_containing(uint64_t vaddr) const {
  const auto& all = symbols();
  const auto& sorted = impl_->functions_by_address;
  // Walk back from the last function starting at or before vaddr. Among aliases of
  // the same start a global name is the more useful one to report. The walk is
  // bounded: a function nested in another is rare, a long scan on a miss is not.
  auto after = std::upper_bound(sorted.begin(), sorted.end(), vaddr,
                                [&all](uint64_t v, size_t i) { return v < all[i].value; });
  constexpr int kMaxCandidates = 64;
  const ElfSymbol* best = nullptr;
  int examined = 0;
  for (auto it = after; it != sorted.begin() && examined < kMaxCandidates; ++examined) {
    const ElfSymbol& sym = all[*--it];
    if (best != nullptr && sym.value != best->value) break;
    if (vaddr - sym.value >= sym.size) continue;
    if (best == nullptr || (best->bind == STB_LOCAL && sym.bind != STB_LOCAL)) best = &sym;
  }
  return best;
}

void ElfImage::merge_symbols_from(const ElfImage& debug_file) {
  auto ours = build_id(), theirs = debug_file.build_id();
  if (ours && theirs && *ours != *theirs) {
    throw Error(ErrorKind::DoesNotFit, fmt::format("{}: build-id {} does not match {} (build-id {})",
                                                   debug_file.path(), *theirs, path(), *ours));
  }
  symbols();  // make sure ours are read before appending
  std::vector<ElfSymbol> added;
  added.reserve(debug_file.symbols().size());
  for (const ElfSymbol& sym : debug_file.symbols()) {
    bool known = false;
    if (auto it = impl_->symbols_by_name.find(sym.name); it != impl_->symbols_by_name.end()) {
      for (size_t i : it->second) known = known || impl_->symbols[i].value == sym.value;
    }
    if (!known) {
      added.push_back(sym);
      added.back().dynamic = false;
    }
  }
  impl_->symbols_by_name.clear();  // keys point into strings that may move
  impl_->symbols.reserve(impl_->symbols.size() + added.size());
  for (ElfSymbol& sym : added) impl_->symbols.push_back(std::move(sym));
  impl_->index_symbols();
}

std::optional<std::vector<uint8_t>> ElfImage::read_vaddr(uint64_t vaddr, size_t len) const {
  auto span = impl_->vaddr_span(vaddr, len);
  if (!span) return std::nullopt;
  return std::vector<uint8_t>(span->begin(), span->end());
}

std::optional<std::string> ElfImage::read_cstring(uint64_t vaddr, size_t max_len) const {
  for (const ElfSegment& seg : impl_->loads) {
    if (vaddr < seg.vaddr || vaddr - seg.vaddr >= seg.filesz) continue;
    uint64_t delta = vaddr - seg.vaddr;
    auto available = impl_->file().subspan(seg.offset + delta, std::min<uint64_t>(seg.filesz - delta, max_len));
    if (auto text = string_at(available, 0)) return std::string(*text);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<uint64_t> ElfImage::relocated_pointer(uint64_t vaddr) const {
  std::call_once(impl_->relocations_once, [this] { impl_->index_relocations(); });
  auto it = impl_->pointer_at.find(vaddr);
  if (it == impl_->pointer_at.end()) return std::nullopt;
  return it->second;
}

std::vector<ElfImage::Relocation> ElfImage::dynamic_relocations() const {
  std::vector<Relocation> out;
  for (const SectionInfo& s : impl_->sections) {
    bool dynamic = (s.flags & SHF_ALLOC) != 0 || s.info == 0;
    if (s.type != SHT_RELA || !dynamic) continue;
    const SectionInfo* symtab = impl_->section_by_index(s.link);
    std::span<const uint8_t> symbol_bytes, names;
    if (symtab != nullptr && (symtab->type == SHT_DYNSYM || symtab->type == SHT_SYMTAB)) {
      symbol_bytes = impl_->contents(*symtab);
      if (const SectionInfo* strings = impl_->section_by_index(symtab->link); strings && strings->type == SHT_STRTAB)
        names = impl_->contents(*strings);
    }
    std::span<const uint8_t> entries = impl_->contents(s);
    for (uint64_t pos = 0; range_fits(pos, sizeof(Elf64_Rela), entries.size()); pos += sizeof(Elf64_Rela)) {
      auto r = load<Elf64_Rela>(entries, pos);
      Relocation rel;
      rel.offset = r.r_offset;
      rel.type = ELF64_R_TYPE(r.r_info);
      rel.addend = r.r_addend;
      uint64_t index = ELF64_R_SYM(r.r_info);
      uint64_t sym_offset = index * sizeof(Elf64_Sym);
      if (index != 0 && range_fits(sym_offset, sizeof(Elf64_Sym), symbol_bytes.size())) {
        auto sym = load<Elf64_Sym>(symbol_bytes, sym_offset);
        rel.symbol = std::string(string_at(names, sym.st_name).value_or(""));
        rel.symbol_defined = sym.st_shndx != SHN_UNDEF;
        rel.symbol_value = sym.st_value;
        rel.symbol_type = GELF_ST_TYPE(sym.st_info);
        rel.symbol_bind = GELF_ST_BIND(sym.st_info);
      }
      out.push_back(std::move(rel));
    }
  }
  return out;
}

std::optional<ElfImage::Section> ElfImage::section(std::string_view name) const {
  for (const SectionInfo& s : impl_->sections) {
    if (s.name != name || s.type == SHT_NULL) continue;
    auto data = impl_->contents(s);
    Section out{s.name, s.addr, s.size, s.flags, {data.begin(), data.end()}};
    out.type = s.type;
    out.offset = s.offset;
    return out;
  }
  return std::nullopt;
}

std::string to_hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0xf]);
  }
  return hex;
}

}  // namespace hotpatch

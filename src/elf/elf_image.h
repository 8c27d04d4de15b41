// ElfImage: one ELF file on disk (an executable, a shared library or a patch),
// read with libelf. Nothing here touches a process: link-time addresses only
// (vaddr); the loader adds the load bias it finds in /proc/PID/maps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch {

struct ElfSymbol {
  std::string name;
  uint64_t value = 0;  // link-time virtual address
  uint64_t size = 0;
  uint8_t type = 0;    // STT_FUNC, STT_OBJECT, STT_GNU_IFUNC, ...
  uint8_t bind = 0;    // STB_LOCAL, STB_GLOBAL, STB_WEAK
  uint16_t section_index = 0;
  std::string source_file;  // for STB_LOCAL: the STT_FILE symbol that precedes it in .symtab
  bool dynamic = false;     // came from .dynsym (exported) rather than .symtab
};

struct ElfSegment {  // one PT_LOAD
  uint64_t vaddr = 0;
  uint64_t memsz = 0;
  uint64_t offset = 0;
  uint64_t filesz = 0;
  uint32_t flags = 0;  // PF_R | PF_W | PF_X
};

// Which file an image was read from: st_dev and st_ino of the file opened, as
// fstat gave them (the very file mapped, whatever its path names later).
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
};

class ElfImage {
 public:
  // Throws Error(BadPatchFile) for a file that is missing, unreadable, not ELF64
  // x86_64, or truncated/corrupt in a way that matters; the message names the path.
  static ElfImage open(const std::string& path);
  // Same, from bytes already in memory (fuzzing, tests). `name` is used in messages.
  static ElfImage from_bytes(std::vector<uint8_t> bytes, const std::string& name);

  ElfImage(ElfImage&&) noexcept;
  ElfImage& operator=(ElfImage&&) noexcept;
  ~ElfImage();

  const std::string& path() const;
  // The file's identity (open); nullopt for an image made from bytes.
  std::optional<FileIdentity> file_identity() const;
  uint16_t elf_type() const;  // ET_EXEC or ET_DYN
  bool is_pie_or_shared() const { return elf_type() == 3 /* ET_DYN */; }

  std::optional<std::string> build_id() const;  // lowercase hex of NT_GNU_BUILD_ID
  std::optional<std::string> soname() const;    // DT_SONAME
  std::vector<std::string> needed() const;      // DT_NEEDED, in order
  // Global (not weak) undefined .dynsym entries: what dlopen(RTLD_NOW) must bind.
  std::vector<std::string> undefined_symbols() const;
  std::optional<std::string> debuglink() const; // .gnu_debuglink file name
  bool has_symtab() const;                      // unstripped: .symtab present

  const std::vector<ElfSegment>& load_segments() const;
  // .symtab and .dynsym together; a symbol present in both appears once (the
  // .symtab entry, with dynamic=true).
  const std::vector<ElfSymbol>& symbols() const;
  // Every symbol with exactly this name (locals from several files may repeat).
  std::vector<const ElfSymbol*> find_symbols(std::string_view name) const;
  // The function symbol (STT_FUNC or STT_GNU_IFUNC, size > 0) whose [value,
  // value+size) contains vaddr; a global name is preferred among aliases.
  const ElfSymbol* function_containing(uint64_t vaddr) const;

  // Adds symbols from a separate debug file (same build-id), for stripped binaries.
  // Throws Error(DoesNotFit) if both files have build-ids and they differ.
  // Pointers from earlier symbols()/find_symbols()/function_containing() calls dangle.
  void merge_symbols_from(const ElfImage& debug_file);

  // File bytes backing [vaddr, vaddr+len) via the PT_LOAD that maps it; nullopt if
  // not entirely file-backed.
  std::optional<std::vector<uint8_t>> read_vaddr(uint64_t vaddr, size_t len) const;
  // A NUL-terminated string at vaddr (at most max_len bytes); nullopt if unterminated.
  std::optional<std::string> read_cstring(uint64_t vaddr, size_t max_len = 4096) const;
  // The pointer value stored at vaddr once the dynamic loader has relocated the
  // image at load bias 0: applies R_X86_64_RELATIVE and R_X86_64_64 against a symbol
  // defined in this image, and .relr.dyn entries (addend stored in place). nullopt if
  // there is no relocation there or it is of another kind.
  std::optional<uint64_t> relocated_pointer(uint64_t vaddr) const;

  // Every dynamic relocation (.rela.dyn, .rela.plt), for linking an image ourselves.
  struct Relocation {
    uint64_t offset = 0;  // link-time address patched
    uint32_t type = 0;    // R_X86_64_*
    int64_t addend = 0;
    std::string symbol;   // empty for none (RELATIVE)
    bool symbol_defined = false;  // defined in this image (value valid)
    uint64_t symbol_value = 0;
    uint8_t symbol_type = 0;
    uint8_t symbol_bind = 0;
  };
  std::vector<Relocation> dynamic_relocations() const;

  // Raw section contents and its link-time address, by name.
  struct Section {
    std::string name;
    uint64_t addr = 0;
    uint64_t size = 0;
    uint64_t flags = 0;
    std::vector<uint8_t> data;  // empty for SHT_NOBITS
    uint32_t type = 0;          // SHT_PROGBITS, SHT_NOBITS, ...
    uint64_t offset = 0;        // file offset of data
  };
  std::optional<Section> section(std::string_view name) const;

 private:
  struct Impl;
  explicit ElfImage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Lowercase hex of bytes.
std::string to_hex(const std::vector<uint8_t>& bytes);

}  // namespace hotpatch

// ObjectFile: one relocatable object (.o) as the compiler wrote it: sections,
// symbols and relocations, read with libelf. The creator compares two of these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::creator {

struct ObjSection {
  std::string name;
  uint32_t type = 0;    // SHT_PROGBITS, SHT_NOBITS, ...
  uint64_t flags = 0;   // SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR | SHF_MERGE | SHF_STRINGS ...
  uint64_t align = 1;
  uint64_t size = 0;
  std::vector<uint8_t> data;  // empty for SHT_NOBITS

  bool is_code() const;
  bool is_writable() const;
  bool is_allocated() const;
};

struct ObjSymbol {
  std::string name;
  uint8_t type = 0;  // STT_*
  uint8_t bind = 0;  // STB_*
  uint32_t section = 0;  // index; 0 = undefined
  uint64_t value = 0;
  uint64_t size = 0;
};

struct ObjRelocation {
  uint64_t offset = 0;  // in the section it applies to
  uint32_t type = 0;
  uint32_t symbol = 0;  // index into symbols
  int64_t addend = 0;
};

class ObjectFile {
 public:
  // Throws Error(Internal) naming the path if it is not an x86_64 ELF relocatable.
  static ObjectFile read(const std::string& path);
  // An object with nothing in it (only the null section and symbol): the "before"
  // of a source file the fix adds.
  static ObjectFile empty(const std::string& path);

  const std::string& path() const { return path_; }
  std::string source_file() const;  // the STT_FILE name, e.g. "memcached.c"
  const std::vector<ObjSection>& sections() const { return sections_; }
  const std::vector<ObjSymbol>& symbols() const { return symbols_; }
  // Relocations that apply to section `index`, sorted by offset.
  const std::vector<ObjRelocation>& relocations(uint32_t index) const;

  // Defined functions and data objects by name (local and global).
  const ObjSymbol* find_defined(const std::string& name, uint8_t type) const;
  // The named function or object symbol of section `section` covering `offset`
  // (for a relocation against a section symbol or a local label).
  const ObjSymbol* symbol_covering(uint32_t section, uint64_t offset) const;

 private:
  std::string path_;
  std::vector<ObjSection> sections_;
  std::vector<ObjSymbol> symbols_;
  std::map<uint32_t, std::vector<ObjRelocation>> relocations_;
};

}  // namespace hotpatch::creator

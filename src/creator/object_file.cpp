#include "creator/object_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/error.h"

namespace hotpatch::creator {

bool ObjSection::is_code() const { return (flags & SHF_EXECINSTR) != 0; }
bool ObjSection::is_writable() const { return (flags & SHF_WRITE) != 0; }
bool ObjSection::is_allocated() const { return (flags & SHF_ALLOC) != 0; }

namespace {
struct ElfHandle {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};
}  // namespace

ObjectFile ObjectFile::read(const std::string& path) {
  if (elf_version(EV_CURRENT) == EV_NONE) throw Error(ErrorKind::Internal, "libelf initialisation failed");
  ElfHandle h;
  h.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (h.fd < 0) throw Error(ErrorKind::Internal, errno_message(path, errno));
  h.elf = elf_begin(h.fd, ELF_C_READ, nullptr);
  GElf_Ehdr ehdr;
  if (!h.elf || elf_kind(h.elf) != ELF_K_ELF || !gelf_getehdr(h.elf, &ehdr) || ehdr.e_type != ET_REL ||
      ehdr.e_machine != EM_X86_64)
    throw Error(ErrorKind::Internal, fmt::format("{}: not an x86_64 relocatable object", path));
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(h.elf, &shstrndx) != 0) throw Error(ErrorKind::Internal, fmt::format("{}: no section names", path));

  ObjectFile obj;
  obj.path_ = path;
  size_t count = 0;
  elf_getshdrnum(h.elf, &count);
  obj.sections_.resize(count);
  for (size_t i = 1; i < count; ++i) {
    Elf_Scn* scn = elf_getscn(h.elf, i);
    GElf_Shdr shdr;
    if (!scn || !gelf_getshdr(scn, &shdr)) continue;
    ObjSection& s = obj.sections_[i];
    const char* name = elf_strptr(h.elf, shstrndx, shdr.sh_name);
    s.name = name ? name : "";
    s.type = shdr.sh_type;
    s.flags = shdr.sh_flags;
    s.align = shdr.sh_addralign ? shdr.sh_addralign : 1;
    s.size = shdr.sh_size;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (shdr.sh_type != SHT_NOBITS && data && data->d_buf)
      s.data.assign(static_cast<uint8_t*>(data->d_buf), static_cast<uint8_t*>(data->d_buf) + data->d_size);
    if (shdr.sh_type == SHT_SYMTAB && data) {
      size_t n = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      obj.symbols_.resize(n);
      for (size_t k = 0; k < n; ++k) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(k), &sym)) continue;
        ObjSymbol& o = obj.symbols_[k];
        const char* sname = elf_strptr(h.elf, shdr.sh_link, sym.st_name);
        o.name = sname ? sname : "";
        o.type = GELF_ST_TYPE(sym.st_info);
        o.bind = GELF_ST_BIND(sym.st_info);
        o.section = sym.st_shndx;
        o.value = sym.st_value;
        o.size = sym.st_size;
      }
    }
    if (shdr.sh_type == SHT_RELA && data) {
      size_t n = shdr.sh_entsize ? shdr.sh_size / shdr.sh_entsize : 0;
      auto& list = obj.relocations_[shdr.sh_info];
      for (size_t k = 0; k < n; ++k) {
        GElf_Rela rela;
        if (!gelf_getrela(data, static_cast<int>(k), &rela)) continue;
        list.push_back({rela.r_offset, static_cast<uint32_t>(GELF_R_TYPE(rela.r_info)),
                        static_cast<uint32_t>(GELF_R_SYM(rela.r_info)), rela.r_addend});
      }
      std::sort(list.begin(), list.end(), [](const ObjRelocation& a, const ObjRelocation& b) { return a.offset < b.offset; });
    }
  }
  // A section symbol's name is its section's.
  for (auto& sym : obj.symbols_)
    if (sym.type == STT_SECTION && sym.section < obj.sections_.size()) sym.name = obj.sections_[sym.section].name;
  return obj;
}

ObjectFile ObjectFile::empty(const std::string& path) {
  ObjectFile obj;
  obj.path_ = path;
  obj.sections_.resize(1);
  obj.symbols_.resize(1);
  return obj;
}

std::string ObjectFile::source_file() const {
  for (const auto& s : symbols_)
    if (s.type == STT_FILE) return s.name;
  return "";
}

const std::vector<ObjRelocation>& ObjectFile::relocations(uint32_t index) const {
  static const std::vector<ObjRelocation> none;
  auto it = relocations_.find(index);
  return it == relocations_.end() ? none : it->second;
}

const ObjSymbol* ObjectFile::find_defined(const std::string& name, uint8_t type) const {
  for (const auto& s : symbols_)
    if (s.name == name && s.type == type && s.section != SHN_UNDEF) return &s;
  return nullptr;
}

const ObjSymbol* ObjectFile::symbol_covering(uint32_t section, uint64_t offset) const {
  const ObjSymbol* best = nullptr;
  for (const auto& s : symbols_) {
    if (s.section != section || (s.type != STT_FUNC && s.type != STT_OBJECT) || s.name.empty()) continue;
    if (offset >= s.value && (offset < s.value + s.size || (s.size == 0 && offset == s.value))) {
      if (!best || s.bind != STB_LOCAL) best = &s;  // prefer a global alias
    }
  }
  return best;
}

}  // namespace hotpatch::creator

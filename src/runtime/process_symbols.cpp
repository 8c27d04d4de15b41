#include "runtime/process_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace hotpatch::runtime {

namespace {

struct LoadedFile {
  std::string path;
  uintptr_t bias;
};

std::vector<LoadedFile> loaded_files() {
  std::vector<LoadedFile> files;
  // Only collect here: the callback runs under the dynamic loader's lock.
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        auto* v = static_cast<std::vector<LoadedFile>*>(out);
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (v->empty() && name.empty()) name = "/proc/self/exe";  // the main program comes first
        if (!name.empty() && name[0] == '/') v->push_back({name, static_cast<uintptr_t>(info->dlpi_addr)});
        return 0;
      },
      &files);
  return files;
}

// A read-only mapping of one ELF file; bounds-checked accessors.
class MappedElf {
 public:
  explicit MappedElf(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      void* p = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const uint8_t*>(p);
        size_ = st.st_size;
      }
    }
    ::close(fd);
  }
  ~MappedElf() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedElf(const MappedElf&) = delete;
  MappedElf& operator=(const MappedElf&) = delete;

  // Calls fn(name, value, size) for every defined function symbol.
  template <typename Fn>
  void for_each_function(Fn&& fn) const {
    if (!data_) return;
    auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data_);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) return;
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || !fits(eh->e_shoff, uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr))) return;
    auto* sh = reinterpret_cast<const Elf64_Shdr*>(data_ + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; ++i) {
      if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM) continue;
      if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Elf64_Sym)) continue;
      const Elf64_Shdr& strtab = sh[sh[i].sh_link];
      if (!fits(sh[i].sh_offset, sh[i].sh_size) || !fits(strtab.sh_offset, strtab.sh_size)) continue;
      auto* syms = reinterpret_cast<const Elf64_Sym*>(data_ + sh[i].sh_offset);
      const char* strings = reinterpret_cast<const char*>(data_ + strtab.sh_offset);
      for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k) {
        const Elf64_Sym& s = syms[k];
        if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || s.st_name >= strtab.sh_size) continue;
        size_t max = strtab.sh_size - s.st_name;
        const char* name = strings + s.st_name;
        if (strnlen(name, max) == max) continue;
        fn(name, s.st_value, s.st_size, ELF64_ST_BIND(s.st_info) == STB_LOCAL);
      }
    }
  }

 private:
  bool fits(uint64_t off, uint64_t len) const { return off <= size_ && len <= size_ - off; }
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace

std::optional<FunctionSymbol> ProcessSymbols::find_function(const std::string& name, std::string& error) {
  for (const auto& file : loaded_files()) {
    MappedElf elf(file.path);
    std::vector<FunctionSymbol> found;
    elf.for_each_function([&](const char* n, uint64_t value, uint64_t size, bool) {
      if (name != n) return;
      uintptr_t address = file.bias + value;
      for (const auto& f : found)
        if (f.address == address) return;  // the same function in .symtab and .dynsym
      found.push_back({name, address, size, file.path});
    });
    if (found.size() > 1) {
      error = "'" + name + "' names " + std::to_string(found.size()) + " different functions in " + file.path +
              " (static functions of several files); cannot tell which";
      return std::nullopt;
    }
    if (found.size() == 1) return found[0];
  }
  error = "no function '" + name + "' in this process (not registered, and no such symbol in its objects)";
  return std::nullopt;
}

std::optional<FunctionSymbol> ProcessSymbols::function_at(uintptr_t address) {
  for (const auto& file : loaded_files()) {
    if (address < file.bias) continue;
    MappedElf elf(file.path);
    std::optional<FunctionSymbol> hit;
    elf.for_each_function([&](const char* n, uint64_t value, uint64_t size, bool) {
      if (!hit && file.bias + value == address && size > 0) hit = FunctionSymbol{n, address, size, file.path};
    });
    if (hit) return hit;
  }
  return std::nullopt;
}

}  // namespace hotpatch::runtime

#include "creator/dwarf_info.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#include <cstring>

#include "common/paths.h"

namespace hotpatch::creator {

namespace {

const Dwfl_Callbacks kOffline = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

}  // namespace

struct DwarfInfo::Impl {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  Dwarf* dwarf = nullptr;
  Dwarf_Addr bias = 0;
  ~Impl() {
    if (dwfl) dwfl_end(dwfl);
  }

  // Each compilation unit's DIE, in order.
  template <typename F>
  void for_each_cu(F&& f) const {
    Dwarf_Addr cu_bias = 0;
    Dwarf_Die* cu = nullptr;
    while ((cu = dwfl_module_nextcu(module, cu, &cu_bias)) != nullptr)
      if (!f(cu)) return;
  }

  // The module address and size of function symbol `name`.
  std::optional<std::pair<Dwarf_Addr, uint64_t>> function(const std::string& name) const {
    int n = dwfl_module_getsymtab(module);
    for (int i = 1; i < n; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      const char* s = dwfl_module_getsym_info(module, i, &sym, &addr, nullptr, nullptr, nullptr);
      if (s && GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF && name == s)
        return std::make_pair(addr, sym.st_size);
    }
    return std::nullopt;
  }
};

DwarfInfo::DwarfInfo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DwarfInfo::~DwarfInfo() = default;

std::unique_ptr<DwarfInfo> DwarfInfo::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->dwfl = dwfl_begin(&kOffline);
  if (!impl->dwfl) return nullptr;
  impl->module = dwfl_report_offline(impl->dwfl, base_name(path).c_str(), path.c_str(), -1);
  if (!impl->module || dwfl_report_end(impl->dwfl, nullptr, nullptr) != 0) return nullptr;
  impl->dwarf = dwfl_module_getdwarf(impl->module, &impl->bias);
  if (!impl->dwarf) return nullptr;
  return std::unique_ptr<DwarfInfo>(new DwarfInfo(std::move(impl)));
}

std::optional<std::string> DwarfInfo::producer_of(const std::string& source_base_name) const {
  std::optional<std::string> out;
  impl_->for_each_cu([&](Dwarf_Die* cu) {
    const char* name = dwarf_diename(cu);
    if (!name || base_name(name) != source_base_name) return true;
    Dwarf_Attribute attr;
    const char* producer = dwarf_formstring(dwarf_attr(cu, DW_AT_producer, &attr));
    if (producer) out = producer;
    return false;
  });
  return out;
}

std::optional<std::set<int64_t>> DwarfInfo::lines_of(const std::string& symbol, const std::string& source_base_name) const {
  auto fn = impl_->function(symbol);
  if (!fn || fn->second == 0) return std::nullopt;
  const Dwarf_Addr lo = fn->first, hi = fn->first + fn->second;
  std::set<int64_t> lines;
  bool described = false;
  impl_->for_each_cu([&](Dwarf_Die* cu) {
    Dwarf_Lines* table = nullptr;
    size_t n = 0;
    if (dwarf_getsrclines(cu, &table, &n) != 0) return true;
    for (size_t i = 0; i < n; ++i) {
      Dwarf_Line* line = dwarf_onesrcline(table, i);
      Dwarf_Addr addr = 0;
      bool end = false;
      if (!line || dwarf_lineaddr(line, &addr) != 0 || dwarf_lineendsequence(line, &end) != 0 || end) continue;
      addr += impl_->bias;
      if (addr < lo || addr >= hi) continue;
      described = true;
      const char* file = dwarf_linesrc(line, nullptr, nullptr);
      int number = 0;
      if (file && base_name(file) == source_base_name && dwarf_lineno(line, &number) == 0 && number > 0)
        lines.insert(number);
    }
    return true;
  });
  if (!described) return std::nullopt;
  return lines;
}

std::map<std::string, std::string> DwarfInfo::type_layouts_used_by(const std::string&) const { return {}; }

}  // namespace hotpatch::creator

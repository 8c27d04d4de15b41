#include "creator/dwarf_info.h"

#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>

#include <algorithm>
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

std::optional<std::map<std::string, std::set<int64_t>>> DwarfInfo::lines_of(const std::string& symbol) const {
  auto fn = impl_->function(symbol);
  if (!fn || fn->second == 0) return std::nullopt;
  const Dwarf_Addr lo = fn->first, hi = fn->first + fn->second;
  std::map<std::string, std::set<int64_t>> lines;
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
      if (file && dwarf_lineno(line, &number) == 0 && number > 0) lines[base_name(file)].insert(number);
    }
    return true;
  });
  if (!described) return std::nullopt;
  return lines;
}

namespace {

bool is_aggregate(int tag) {
  return tag == DW_TAG_structure_type || tag == DW_TAG_class_type || tag == DW_TAG_union_type;
}

bool is_declaration(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  bool flag = false;
  return dwarf_attr(die, DW_AT_declaration, &attr) && dwarf_formflag(&attr, &flag) == 0 && flag;
}

std::optional<Dwarf_Die> type_of(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Die out;
  if (!dwarf_attr_integrate(die, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &out)) return std::nullopt;
  return out;
}

std::optional<Dwarf_Die> ref_of(Dwarf_Die* die, unsigned name) {
  Dwarf_Attribute attr;
  Dwarf_Die out;
  if (!dwarf_attr(die, name, &attr) || !dwarf_formref_die(&attr, &out)) return std::nullopt;
  return out;
}

uint64_t udata(Dwarf_Die* die, unsigned name, uint64_t fallback = 0) {
  Dwarf_Attribute attr;
  Dwarf_Word v = 0;
  if (!dwarf_attr_integrate(die, name, &attr) || dwarf_formudata(&attr, &v) != 0) return fallback;
  return v;
}

DwarfInfo::Layout layout_of(Dwarf_Die* agg) {
  DwarfInfo::Layout l;
  l.size = udata(agg, DW_AT_byte_size);
  Dwarf_Die child;
  if (dwarf_child(agg, &child) != 0) return l;
  do {
    if (dwarf_tag(&child) != DW_TAG_member) continue;
    DwarfInfo::Member m;
    const char* name = dwarf_diename(&child);
    m.name = name ? name : "(unnamed)";
    Dwarf_Attribute attr;
    if (dwarf_attr(&child, DW_AT_data_bit_offset, &attr)) {
      m.bits = true;
      m.offset = udata(&child, DW_AT_data_bit_offset);
      m.size = udata(&child, DW_AT_bit_size);
    } else {
      m.offset = udata(&child, DW_AT_data_member_location);
      if (dwarf_attr(&child, DW_AT_bit_size, &attr)) {
        m.bits = true;
        m.offset = m.offset * 8 + udata(&child, DW_AT_bit_offset);
        m.size = udata(&child, DW_AT_bit_size);
      } else if (auto t = type_of(&child)) {
        Dwarf_Word size = 0;
        if (dwarf_aggregate_size(&*t, &size) == 0) m.size = size;
      }
    }
    l.members.push_back(m);
  } while (dwarf_siblingof(&child, &child) == 0);
  return l;
}

// Names of the complete aggregates of one file, by DIE offset.
class TypeIndex {
 public:
  std::map<Dwarf_Off, std::string> names;

  void walk(Dwarf_Die* die, const std::string& scope) {
    Dwarf_Die child;
    if (dwarf_child(die, &child) != 0) return;
    do {
      int tag = dwarf_tag(&child);
      const char* name = dwarf_diename(&child);
      if (is_aggregate(tag) && !is_declaration(&child)) {
        if (name) {
          std::string q = scope.empty() ? name : scope + "::" + name;
          names[dwarf_dieoffset(&child)] = scope.empty() && !cpp ? kind(tag) + q : q;
          walk(&child, q);
        }
      } else if (tag == DW_TAG_typedef && name) {
        if (auto t = type_of(&child); t && is_aggregate(dwarf_tag(&*t)) && !dwarf_diename(&*t))
          names.emplace(dwarf_dieoffset(&*t), scope.empty() ? name : scope + "::" + name);
      } else if (tag == DW_TAG_namespace) {
        walk(&child, scope.empty() ? (name ? name : "(anonymous namespace)")
                                   : scope + "::" + (name ? name : "(anonymous namespace)"));
      }
    } while (dwarf_siblingof(&child, &child) == 0);
  }
  bool cpp = false;

 private:
  static std::string kind(int tag) { return tag == DW_TAG_union_type ? "union " : "struct "; }
};

bool is_cpp(Dwarf_Die* cu) {
  Dwarf_Word lang = udata(cu, DW_AT_language);
  return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14 ||
         lang == DW_LANG_C_plus_plus_03;
}

}  // namespace

std::map<std::string, DwarfInfo::Layout> DwarfInfo::type_layouts() const {
  std::map<std::string, Layout> out;
  impl_->for_each_cu([&](Dwarf_Die* cu) {
    TypeIndex index;
    index.cpp = is_cpp(cu);
    index.walk(cu, "");
    for (const auto& [offset, name] : index.names) {
      Dwarf_Die die;
      if (dwarf_offdie(impl_->dwarf, offset, &die)) out.emplace(name, layout_of(&die));
    }
    return true;
  });
  return out;
}

std::map<std::string, DwarfInfo::Layout> DwarfInfo::type_layouts_used_by(const std::string& symbol,
                                                                         const std::vector<std::string>& variables) const {
  std::map<std::string, Layout> out;
  auto fn = impl_->function(symbol);
  impl_->for_each_cu([&](Dwarf_Die* cu) {
    TypeIndex index;
    index.cpp = is_cpp(cu);
    index.walk(cu, "");
    std::set<Dwarf_Off> seen;
    std::vector<Dwarf_Die> work;
    auto push = [&](std::optional<Dwarf_Die> d) {
      if (d && seen.insert(dwarf_dieoffset(&*d)).second) work.push_back(*d);
    };
    // The function's DIE (the one whose code holds its entry) and the named variables.
    Dwarf_Die child;
    if (dwarf_child(cu, &child) == 0) {
      do {
        int tag = dwarf_tag(&child);
        const char* name = dwarf_diename(&child);
        if (tag == DW_TAG_subprogram && fn && dwarf_haspc(&child, fn->first - impl_->bias) == 1) push(child);
        if (tag == DW_TAG_variable && name && std::find(variables.begin(), variables.end(), name) != variables.end())
          push(child);
      } while (dwarf_siblingof(&child, &child) == 0);
    }
    while (!work.empty()) {
      Dwarf_Die die = work.back();
      work.pop_back();
      int tag = dwarf_tag(&die);
      if (is_aggregate(tag)) {
        auto it = index.names.find(dwarf_dieoffset(&die));
        if (it != index.names.end()) out.emplace(it->second, layout_of(&die));
      }
      push(type_of(&die));
      push(ref_of(&die, DW_AT_abstract_origin));
      push(ref_of(&die, DW_AT_specification));
      Dwarf_Die c;
      if (tag != DW_TAG_compile_unit && dwarf_child(&die, &c) == 0) {
        do push(c);
        while (dwarf_siblingof(&c, &c) == 0);
      }
    }
    return true;
  });
  return out;
}

}  // namespace hotpatch::creator

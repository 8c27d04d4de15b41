// DwarfInfo: what the Creator reads from DWARF, for one object file or program
// (elfutils' libdwfl, which applies a relocatable object's relocations to its
// debug sections): compilation units' producers (compiler and flags), line tables
// by function, and the layout of the types functions use.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hotpatch::creator {

class DwarfInfo {
 public:
  // nullptr when the file has no DWARF (built without -g) or cannot be read.
  static std::unique_ptr<DwarfInfo> open(const std::string& path);
  ~DwarfInfo();
  DwarfInfo(const DwarfInfo&) = delete;
  DwarfInfo& operator=(const DwarfInfo&) = delete;

  // DW_AT_producer of the compilation unit whose DW_AT_name has this base name
  // ("GNU C17 12.2.0 -mtune=generic -march=x86-64 -O2 -g"); nullopt if none.
  std::optional<std::string> producer_of(const std::string& source_base_name) const;

  // The source lines code of function `symbol` comes from, inlined code included,
  // by file base name ("calc.c" -> {10, 11, 12}); nullopt if the function or its
  // lines are not described.
  std::optional<std::map<std::string, std::set<int64_t>>> lines_of(const std::string& symbol) const;

  // The layout of a struct, class or union: its size and its members' offsets and
  // sizes (bit-fields as bit offsets).
  struct Member {
    std::string name;
    uint64_t offset = 0;  // bytes, or bits for a bit-field
    uint64_t size = 0;
    bool bits = false;
    bool operator==(const Member&) const = default;
  };
  struct Layout {
    uint64_t size = 0;
    std::vector<Member> members;
    bool operator==(const Layout&) const = default;
  };
  // Every complete struct, class and union the file describes, by name ("struct
  // conn", "conn_t" for a typedef of an unnamed one, "ns::Conn").
  std::map<std::string, Layout> type_layouts() const;
  // Those reachable from function `symbol`'s description (its parameters, locals,
  // return type, inlined code) and from the variables named in `variables`,
  // through pointers, typedefs, qualifiers, arrays and members.
  std::map<std::string, Layout> type_layouts_used_by(const std::string& symbol,
                                                     const std::vector<std::string>& variables) const;

 private:
  struct Impl;
  explicit DwarfInfo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hotpatch::creator

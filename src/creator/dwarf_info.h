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

  // The lines of source file `source_base_name` that code of function `symbol`
  // comes from (inlined code included); nullopt if the function or its lines are
  // not described.
  std::optional<std::set<int64_t>> lines_of(const std::string& symbol, const std::string& source_base_name) const;

  // Structs, classes and unions reachable from function `symbol`'s description (its
  // parameters, locals, return type, and the variables it names), through pointers,
  // typedefs, arrays and members: name -> layout ("size 24; a@0 b@8 c@16").
  std::map<std::string, std::string> type_layouts_used_by(const std::string& symbol) const;

 private:
  struct Impl;
  explicit DwarfInfo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hotpatch::creator

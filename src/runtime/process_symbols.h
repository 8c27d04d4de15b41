// ProcessSymbols: function symbols of the objects loaded in this process, read from
// their ELF files (.symtab and .dynsym), so `func upgrade` can name any function of
// the process, static ones included, and knows each function's size (a jump must
// fit in it). Reads files on each call: cheap next to a command round trip, and it
// never holds stale data after a dlopen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hotpatch::runtime {

struct FunctionSymbol {
  std::string name;
  uintptr_t address = 0;  // run-time address
  size_t size = 0;
  std::string object;     // file it was found in
};

class ProcessSymbols {
 public:
  // The main executable first, then the libraries in load order. nullopt with
  // `error` set when missing or ambiguous (several static functions of that name).
  static std::optional<FunctionSymbol> find_function(const std::string& name, std::string& error);
  // The function that starts exactly at `address` (for registered functions and a
  // library's replacement found with dlsym).
  static std::optional<FunctionSymbol> function_at(uintptr_t address);
};

}  // namespace hotpatch::runtime

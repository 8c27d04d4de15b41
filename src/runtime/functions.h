// FunctionTable: functions the program registered (hotpatch::RegisterFunction), and
// `func list|upgrade|rollback`: redirecting a function's entry to a function of a
// library loaded with `lib load`, recorded in the shared patch registry.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::runtime {

struct Reply;

class FunctionTable {
 public:
  static FunctionTable& instance();

  bool add(const std::string& name, void* function, std::string& error);
  std::optional<uintptr_t> find(const std::string& name);

  void list(Reply& reply);
  void upgrade(const std::string& lib, const std::string& func, const std::string& new_func, Reply& reply);
  void rollback(const std::string& func, Reply& reply);

 private:
  struct Target {
    uintptr_t address = 0;
    size_t size = 0;
  };
  std::optional<Target> resolve_target(const std::string& func, std::string& error);

  std::mutex lock_;  // the table, and one upgrade/rollback at a time
  std::vector<std::pair<std::string, uintptr_t>> registered_;
};

}  // namespace hotpatch::runtime

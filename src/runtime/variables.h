// VariableTable: the variables a program registered (hotpatch::RegisterVariable),
// read and written by `var list|get|set`.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/control_protocol.h"

namespace hotpatch::runtime {

struct Reply;

class VariableTable {
 public:
  static VariableTable& instance();

  enum class Storage { Plain, Atomic, StdString, CString };
  // Returns false (and says why in `error`) for an empty or duplicate name.
  bool add(const std::string& name, control::ValueKind kind, Storage storage, void* ptr, size_t capacity,
           std::string& error);

  void list(Reply& reply);
  void get(const std::string& name, std::optional<control::ValueKind> type, Reply& reply);
  void set(const std::string& name, std::optional<control::ValueKind> type, const std::string& text, Reply& reply);

  // Held while a string variable is written; the program may hold it to read one.
  std::mutex& string_lock() { return string_lock_; }

 private:
  struct Variable {
    std::string name;
    control::ValueKind kind;
    Storage storage;
    void* ptr;
    size_t capacity;  // CString only
  };
  const Variable* find(const std::string& name) const;
  std::string read(const Variable& v);

  std::mutex table_lock_;  // the vector itself (registration may run concurrently)
  std::mutex string_lock_;
  std::vector<Variable> variables_;
};

}  // namespace hotpatch::runtime

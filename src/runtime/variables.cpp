#include "runtime/variables.h"

#include <atomic>
#include <cstdio>
#include <cstring>

#include "runtime/reply.h"

namespace hotpatch::runtime {

using control::ValueKind;

namespace {

// Plain variables: one aligned store or load of the whole value, so a reader never
// sees half of an old and half of a new value (the compiler may not split it).
template <typename T>
T load_value(const void* p, VariableTable::Storage s) {
  if (s == VariableTable::Storage::Atomic) return static_cast<const std::atomic<T>*>(p)->load();
  T v;
  __atomic_load(static_cast<const T*>(p), &v, __ATOMIC_RELAXED);
  return v;
}
template <typename T>
void store_value(void* p, VariableTable::Storage s, T v) {
  if (s == VariableTable::Storage::Atomic) static_cast<std::atomic<T>*>(p)->store(v);
  else __atomic_store(static_cast<T*>(p), &v, __ATOMIC_RELEASE);
}

std::string format_double(double d, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, d);
  return buf;
}

std::string describe(ValueKind kind, VariableTable::Storage storage) {
  if (storage == VariableTable::Storage::Atomic) return std::string("std::atomic<") + control::type_name(kind) + ">";
  if (storage == VariableTable::Storage::CString) return "char[]";
  return control::type_name(kind);
}

}  // namespace

VariableTable& VariableTable::instance() {
  static VariableTable table;  // constructed on first use, never by a constructor of ours
  return table;
}

bool VariableTable::add(const std::string& name, ValueKind kind, Storage storage, void* ptr, size_t capacity,
                        std::string& error) {
  if (name.empty() || name.find_first_of(" \t\r\n\"") != std::string::npos) {
    error = "variable name '" + name + "' is empty or contains blanks or quotes";
    return false;
  }
  if (!ptr) {
    error = "variable '" + name + "': null pointer";
    return false;
  }
  std::lock_guard<std::mutex> guard(table_lock_);
  for (const auto& v : variables_)
    if (v.name == name) {
      error = "variable '" + name + "' is already registered";
      return false;
    }
  variables_.push_back({name, kind, storage, ptr, capacity});
  return true;
}

const VariableTable::Variable* VariableTable::find(const std::string& name) const {
  for (const auto& v : variables_)
    if (v.name == name) return &v;
  return nullptr;
}

std::string VariableTable::read(const Variable& v) {
  switch (v.kind) {
    case ValueKind::Int32: return std::to_string(load_value<int32_t>(v.ptr, v.storage));
    case ValueKind::Int64: return std::to_string(load_value<int64_t>(v.ptr, v.storage));
    case ValueKind::UInt32: return std::to_string(load_value<uint32_t>(v.ptr, v.storage));
    case ValueKind::UInt64: return std::to_string(load_value<uint64_t>(v.ptr, v.storage));
    case ValueKind::Bool: return load_value<bool>(v.ptr, v.storage) ? "true" : "false";
    case ValueKind::Float: return format_double(load_value<float>(v.ptr, v.storage), 9);
    case ValueKind::Double: return format_double(load_value<double>(v.ptr, v.storage), 17);
    case ValueKind::String: {
      std::lock_guard<std::mutex> guard(string_lock_);
      std::string s = v.storage == Storage::CString ? std::string(static_cast<const char*>(v.ptr), strnlen(static_cast<const char*>(v.ptr), v.capacity))
                                                    : *static_cast<const std::string*>(v.ptr);
      return control::quote_word(s);
    }
  }
  return "?";
}

void VariableTable::list(Reply& reply) {
  std::lock_guard<std::mutex> guard(table_lock_);
  if (variables_.empty()) reply.line("no variables registered");
  for (const auto& v : variables_) reply.line(v.name + " " + describe(v.kind, v.storage) + " " + read(v));
}

void VariableTable::get(const std::string& name, std::optional<ValueKind> type, Reply& reply) {
  std::lock_guard<std::mutex> guard(table_lock_);
  const Variable* v = find(name);
  if (!v) return reply.fail("no variable '" + name + "' is registered (see: var list)");
  if (type && *type != v->kind)
    return reply.fail("variable '" + name + "' is " + describe(v->kind, v->storage) + ", not " + control::type_name(*type));
  reply.line(read(*v));
}

void VariableTable::set(const std::string& name, std::optional<ValueKind> type, const std::string& text, Reply& reply) {
  std::lock_guard<std::mutex> guard(table_lock_);
  const Variable* v = find(name);
  if (!v) return reply.fail("no variable '" + name + "' is registered (see: var list)");
  if (type && *type != v->kind)
    return reply.fail("variable '" + name + "' is " + describe(v->kind, v->storage) + ", not " + control::type_name(*type));
  control::ParsedValue value = control::parse_value(v->kind, text);
  if (!value.ok) return reply.fail("variable '" + name + "' (" + describe(v->kind, v->storage) + "): " + value.error);
  switch (v->kind) {
    case ValueKind::Int32: store_value<int32_t>(v->ptr, v->storage, static_cast<int32_t>(value.i)); break;
    case ValueKind::Int64: store_value<int64_t>(v->ptr, v->storage, value.i); break;
    case ValueKind::UInt32: store_value<uint32_t>(v->ptr, v->storage, static_cast<uint32_t>(value.u)); break;
    case ValueKind::UInt64: store_value<uint64_t>(v->ptr, v->storage, value.u); break;
    case ValueKind::Bool: store_value<bool>(v->ptr, v->storage, value.i != 0); break;
    case ValueKind::Float: store_value<float>(v->ptr, v->storage, static_cast<float>(value.d)); break;
    case ValueKind::Double: store_value<double>(v->ptr, v->storage, value.d); break;
    case ValueKind::String: {
      if (v->storage == Storage::CString && value.s.size() + 1 > v->capacity)
        return reply.fail("variable '" + name + "': the value is " + std::to_string(value.s.size()) +
                          " bytes, the buffer holds " + std::to_string(v->capacity - 1));
      std::lock_guard<std::mutex> strings(string_lock_);
      if (v->storage == Storage::CString) {
        std::memcpy(v->ptr, value.s.c_str(), value.s.size() + 1);
      } else {
        *static_cast<std::string*>(v->ptr) = value.s;
      }
      break;
    }
  }
  reply.line(read(*v));
}

}  // namespace hotpatch::runtime

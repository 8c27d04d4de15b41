// The C API of <hotpatch/hotpatch_c.h> (and the entry points behind the C++ API of
// <hotpatch/hotpatch.h>). Everything exported by libhotpatch.so for programs is here.
#include <errno.h>

#include <string>

#include "common/control_protocol.h"
#include "runtime/control_server.h"
#include "runtime/functions.h"
#include "runtime/variables.h"

#define HOTPATCH_EXPORT extern "C" __attribute__((visibility("default")))

using hotpatch::control::ValueKind;
using hotpatch::runtime::ControlServer;
using hotpatch::runtime::FunctionTable;
using hotpatch::runtime::VariableTable;

namespace {

thread_local std::string last_error;

int result(bool ok, const std::string& error, int code) {
  if (ok) return 0;
  last_error = error;
  return -code;
}

int add_variable(const char* name, ValueKind kind, VariableTable::Storage storage, void* ptr, size_t capacity = 0) {
  std::string error;
  bool ok = VariableTable::instance().add(name ? name : "", kind, storage, ptr, capacity, error);
  return result(ok, error, error.find("already") != std::string::npos ? EEXIST : EINVAL);
}

// Removes the socket file when the process exits normally. A destructor, not a
// constructor: loading the library still does nothing.
__attribute__((destructor)) void remove_control_socket() { ControlServer::instance().remove_socket(); }

}  // namespace

HOTPATCH_EXPORT int hotpatch_init_server(void) {
  std::string error;
  bool ok = ControlServer::instance().start(error);
  return result(ok, "hotpatch: control server not started: " + error, errno ? errno : EIO);
}

HOTPATCH_EXPORT const char* hotpatch_socket_path(void) { return ControlServer::instance().path(); }
HOTPATCH_EXPORT const char* hotpatch_last_error(void) { return last_error.c_str(); }

HOTPATCH_EXPORT int hotpatch_register_int32(const char* name, int32_t* p) { return add_variable(name, ValueKind::Int32, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_int64(const char* name, int64_t* p) { return add_variable(name, ValueKind::Int64, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_uint32(const char* name, uint32_t* p) { return add_variable(name, ValueKind::UInt32, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_uint64(const char* name, uint64_t* p) { return add_variable(name, ValueKind::UInt64, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_bool(const char* name, bool* p) { return add_variable(name, ValueKind::Bool, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_float(const char* name, float* p) { return add_variable(name, ValueKind::Float, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_double(const char* name, double* p) { return add_variable(name, ValueKind::Double, VariableTable::Storage::Plain, p); }
HOTPATCH_EXPORT int hotpatch_register_cstring(const char* name, char* buffer, uint64_t capacity) {
  if (capacity == 0) return result(false, "string buffer of capacity 0", EINVAL);
  return add_variable(name, ValueKind::String, VariableTable::Storage::CString, buffer, capacity);
}
HOTPATCH_EXPORT int hotpatch_register_std_string(const char* name, std::string* p) {
  return add_variable(name, ValueKind::String, VariableTable::Storage::StdString, p);
}
// `kind` is hotpatch::AtomicKind, whose values are the first control::ValueKind values.
HOTPATCH_EXPORT int hotpatch_register_atomic(const char* name, void* p, int kind) {
  if (kind < 0 || kind > static_cast<int>(ValueKind::Bool)) return result(false, "unknown atomic kind", EINVAL);
  return add_variable(name, static_cast<ValueKind>(kind), VariableTable::Storage::Atomic, p);
}

HOTPATCH_EXPORT int hotpatch_register_function(const char* name, void* function) {
  std::string error;
  bool ok = FunctionTable::instance().add(name ? name : "", function, error);
  return result(ok, error, error.find("already") != std::string::npos ? EEXIST : EINVAL);
}

HOTPATCH_EXPORT void hotpatch_var_lock(void) { VariableTable::instance().string_lock().lock(); }
HOTPATCH_EXPORT void hotpatch_var_unlock(void) { VariableTable::instance().string_lock().unlock(); }

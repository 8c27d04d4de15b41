// The cooperative runtime's C++ API (libhotpatch.so): start the control server and
// register what it may show and change. Names follow the seed project
// (tobegit3hub/hotpatch) so its users' code compiles unchanged:
//
//   hotpatch::InitHotpatchServer();
//   hotpatch::RegisterVariable("user_name", &user_name);   // std::string
//   hotpatch::RegisterVariable("age", &age);               // int
//   hotpatch::RegisterFunction("add_func", reinterpret_cast<void*>(add_func));
//
// Then `hotpatch -p PID var set age 20` (or `echo 'var set age 20' | nc -U SOCKET`).
// docs/cooperative.md describes the socket, the commands and the guarantees.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "hotpatch/hotpatch_c.h"

extern "C" {
// The C++ overloads below go through these (one entry point per value kind).
int hotpatch_register_std_string(const char* name, std::string* ptr);
int hotpatch_register_atomic(const char* name, void* ptr, int kind);
}

namespace hotpatch {

// Value kinds of hotpatch_register_atomic (the order of control::ValueKind).
enum class AtomicKind : int { Int32 = 0, Int64 = 1, UInt32 = 2, UInt64 = 3, Bool = 4 };

// Starts the control server; true when it runs (also when it already ran).
inline bool InitHotpatchServer() { return hotpatch_init_server() == 0; }

inline bool RegisterVariable(const std::string& name, int32_t* v) { return hotpatch_register_int32(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, int64_t* v) { return hotpatch_register_int64(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, uint32_t* v) { return hotpatch_register_uint32(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, uint64_t* v) { return hotpatch_register_uint64(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, bool* v) { return hotpatch_register_bool(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, float* v) { return hotpatch_register_float(name.c_str(), v) == 0; }
inline bool RegisterVariable(const std::string& name, double* v) { return hotpatch_register_double(name.c_str(), v) == 0; }
// A std::string is changed under the registry's lock: read it under VarLock too.
inline bool RegisterVariable(const std::string& name, std::string* v) { return hotpatch_register_std_string(name.c_str(), v) == 0; }

// std::atomic variables are written with atomic stores: readers never see a torn value.
#define HOTPATCH_ATOMIC_OVERLOAD(T, KIND)                                                  \
  inline bool RegisterVariable(const std::string& name, std::atomic<T>* v) {                \
    static_assert(sizeof(std::atomic<T>) == sizeof(T) && std::atomic<T>::is_always_lock_free); \
    return hotpatch_register_atomic(name.c_str(), v, static_cast<int>(AtomicKind::KIND)) == 0; \
  }
HOTPATCH_ATOMIC_OVERLOAD(int32_t, Int32)
HOTPATCH_ATOMIC_OVERLOAD(int64_t, Int64)
HOTPATCH_ATOMIC_OVERLOAD(uint32_t, UInt32)
HOTPATCH_ATOMIC_OVERLOAD(uint64_t, UInt64)
HOTPATCH_ATOMIC_OVERLOAD(bool, Bool)
#undef HOTPATCH_ATOMIC_OVERLOAD

inline bool RegisterFunction(const std::string& name, void* function) {
  return hotpatch_register_function(name.c_str(), function) == 0;
}
template <typename R, typename... A>
inline bool RegisterFunction(const std::string& name, R (*function)(A...)) {
  return RegisterFunction(name, reinterpret_cast<void*>(function));
}

// Holds the lock under which `var set` writes registered strings.
class VarLock {
 public:
  VarLock() { hotpatch_var_lock(); }
  ~VarLock() { hotpatch_var_unlock(); }
  VarLock(const VarLock&) = delete;
  VarLock& operator=(const VarLock&) = delete;
};

}  // namespace hotpatch

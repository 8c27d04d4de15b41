// The process's own gflags and glog, found at run time (dlsym on their C++ symbols),
// never linked: a process may carry its own version, and gflags aborts when a flag
// is registered twice. `gflags ...` and `glog ...` commands work through these.
#pragma once

#include <string>

namespace hotpatch::runtime {

struct Reply;

class ProcessGflags {
 public:
  // Looks the functions up on each call: the library may be dlopen'ed later.
  static void list(Reply& reply);
  static void get(const std::string& name, Reply& reply);
  static void set(const std::string& name, const std::string& value, Reply& reply);
};

class ProcessGlog {
 public:
  static void get(Reply& reply);
  static void set(const std::string& what, const std::string& value, Reply& reply);
};

}  // namespace hotpatch::runtime

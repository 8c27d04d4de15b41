// Reply: what one command answers: body lines, then `OK` or `ERR <reason>`.
#pragma once

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace hotpatch::runtime {

struct Reply {
  std::string body;  // zero or more lines, each ending in '\n'
  bool ok = true;
  std::string error;

  void line(const std::string& text) { body += text + "\n"; }
  void fail(const std::string& reason) {
    ok = false;
    error = reason;
  }
  // The bytes sent to the client; a reason never spans lines.
  std::string wire() const {
    if (ok) return body + "OK\n";
    std::string reason = error;
    for (char& c : reason)
      if (c == '\n' || c == '\r') c = ' ';
    return body + "ERR " + reason + "\n";
  }
};

// An address as replies and the hotpatch command line print it ("0x55d4451e74b0"):
// the runtime also matches the helper's output lines against it.
inline std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

}  // namespace hotpatch::runtime

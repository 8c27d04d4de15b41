// Reply: what one command answers: body lines, then `OK` or `ERR <reason>`.
#pragma once

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

}  // namespace hotpatch::runtime

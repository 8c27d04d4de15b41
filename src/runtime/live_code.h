// Changing code that other threads of this process may be executing, from inside the
// process (the cooperative `func upgrade/rollback`). The bytes are written by the
// Loader run as a helper (loader_helper.h), with every thread stopped and none in the
// bytes being replaced: docs/cooperative.md, "How the jump is written".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::runtime {

struct CodeRange {
  uintptr_t start = 0, end = 0;
  std::string label;  // for the error message: "the entry of 'add_func'"
};

struct CodeChange {
  uintptr_t site = 0;
  std::vector<uint8_t> expected;  // what is there now
  std::vector<uint8_t> bytes;     // what goes there (same length)
  std::vector<CodeRange> guarded;  // no thread may be in these (pc or return address)
  std::vector<CodeRange> probes;   // tell whether a thread is in these
};

struct CodeChangeReport {
  std::string summary;             // "written 5 bytes at ...: 9 threads stopped for 310 us"
  std::vector<bool> probe_unused;  // per probe
};

class LiveCodeWriter {
 public:
  // False with `error` set if nothing was changed (busy, not what was expected, no
  // helper). Waits up to `timeout_ms` for the guarded ranges to be free. A change
  // with no bytes only answers its probes.
  static bool replace(const CodeChange& change, int timeout_ms, CodeChangeReport& report, std::string& error);

  // The registers a redirect from `old_function` to `new_function` must keep for the
  // old function's callers (IPA-RA; docs/design.md), as a RegisterSet mask, with
  // their names ("rdx, rsi") in `names`.
  static std::optional<uint64_t> registers_to_preserve(uintptr_t old_function, uintptr_t new_function,
                                                       std::string& names, std::string& error);
};

// One page of executable memory within near-jump reach of a function entry, holding
// a jump that reaches anywhere or a register-preserving stub.
class StubPages {
 public:
  static constexpr size_t kPageSize = 4096;
  // Maps a page within reach of `near`, writes `code` at its start and makes it
  // read+execute. nullopt with `error` set if no free address space is in reach.
  static std::optional<uintptr_t> map_near(uintptr_t near, const std::vector<uint8_t>& code, std::string& error);
  static void unmap(uintptr_t page);
};

}  // namespace hotpatch::runtime

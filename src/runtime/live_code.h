// Changing code that other threads of this process may be executing, from inside the
// process (the cooperative `func upgrade/rollback` cannot stop the other threads the
// way the ptrace Loader does). docs/cooperative.md explains the protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::runtime {

class LiveCodeWriter {
 public:
  // Replaces the bytes at `site`, which must currently be `expected`, by `bytes`
  // (same length). A thread that reaches `site` while the write is in progress is
  // sent on to `detour`. False with `error` set if nothing was changed.
  static bool replace(uintptr_t site, const std::vector<uint8_t>& expected, const std::vector<uint8_t>& bytes,
                      uintptr_t detour, std::string& error);
};

// One page of executable memory within near-jump reach of a function entry, holding
// a jump that reaches anywhere.
class StubPages {
 public:
  static constexpr size_t kPageSize = 4096;
  // Maps a page within reach of `near`, writes `code` at its start and makes it
  // read+execute. nullopt with `error` set if no free address space is in reach.
  static std::optional<uintptr_t> map_near(uintptr_t near, const std::vector<uint8_t>& code, std::string& error);
  static void unmap(uintptr_t page);
};

}  // namespace hotpatch::runtime

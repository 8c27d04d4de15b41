// Part of the architecture interface (arch.h): instruction decoding for code
// comparisons, in a header of its own so that its users alone depend on it.
// Implemented in src/arch/<cpu>/instructions.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace hotpatch::arch {

// One instruction of decoded code. A relative jump or conditional jump has a short
// and a long encoding (the assembler picks one per section, by distance, and never
// shrinks one it grew), so two builds of the same code may differ in those alone:
// `branch` and `condition` say what such a branch does whatever its length.
struct Instruction {
  enum class Branch : uint8_t { none, jump, conditional };
  uint64_t offset = 0;  // from the start of the decoded code
  uint32_t size = 0;
  Branch branch = Branch::none;  // only plain relative jmp / jcc (no prefix); calls and loops are none
  uint8_t condition = 0;         // of a conditional branch: the same number for its short and long form
  int64_t target = 0;            // of a branch: its destination, as an offset from the start of the code
  // A no-op the assembler put there to align what follows: its length depends on
  // where it lands (after a branch of the other length, another nop fills the gap).
  bool padding = false;
};
// The instructions of `code` from its start, at most `max_count`; nullopt if those
// do not all decode (max_count unlimited: the whole of `code` must).
std::optional<std::vector<Instruction>> decode_instructions(std::span<const uint8_t> code,
                                                            size_t max_count = SIZE_MAX);

}  // namespace hotpatch::arch

// libFuzzer target for the diff-hunk parser of `hotpatch create` (--diff is user
// input, often a file downloaded with a security fix). Any text must parse, never
// crash, hang or read out of bounds (built with ASan and UBSan); moved_line() must
// answer for any line of any file the diff names.
#include <cstddef>
#include <cstdint>
#include <string>

#include "creator/diff_hunks.h"

using namespace hotpatch::creator;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  LineMoves moves = parse_line_moves(text);
  for (const auto& [file, hunks] : moves) {
    (void)file;
    for (int64_t line : {int64_t{0}, int64_t{1}, int64_t{2}, int64_t{100}, int64_t{1} << 40, int64_t{-1}})
      (void)moved_line(hunks, line);
    for (const Hunk& h : hunks) {
      (void)moved_line(hunks, h.old_start);
      (void)moved_line(hunks, h.old_start + h.old_length);
    }
  }
  return 0;
}

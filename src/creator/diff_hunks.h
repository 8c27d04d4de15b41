// Where a unified diff changes lines, per source file: the hunks the __LINE__ rule
// needs (a function below an added line differs only in the line numbers it uses).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::creator {

struct Hunk {
  int64_t old_start = 0, old_length = 0, new_length = 0;
};
using LineMoves = std::map<std::string, std::vector<Hunk>>;  // file base name -> hunks, in diff order

// Reads the `+++ ` file names and `@@ -a,b +c,d @@` headers of a unified diff;
// anything else is ignored (a missing length is 1, as in diff's own output).
LineMoves parse_line_moves(const std::string& diff_text);

// The line `old_line` of the file before the diff has in the file after it, or
// nullopt when the diff changed that line (it lies inside a hunk's old range).
std::optional<int64_t> moved_line(const std::vector<Hunk>& hunks, int64_t old_line);

}  // namespace hotpatch::creator

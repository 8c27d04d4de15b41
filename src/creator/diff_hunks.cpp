#include "creator/diff_hunks.h"

#include <cstdio>

#include "common/paths.h"

namespace hotpatch::creator {

namespace {

// "@@ -a,b +c,d @@": a missing length is 1.
bool parse_header(const std::string& line, Hunk& h, int64_t& new_start) {
  long os = 0, ol = 1, ns = 0, nl = 1;
  if (std::sscanf(line.c_str(), "@@ -%ld,%ld +%ld,%ld", &os, &ol, &ns, &nl) < 4) {
    ol = nl = 1;
    if (std::sscanf(line.c_str(), "@@ -%ld,%ld +%ld", &os, &ol, &ns) < 3 &&
        std::sscanf(line.c_str(), "@@ -%ld +%ld,%ld", &os, &ns, &nl) < 3 &&
        std::sscanf(line.c_str(), "@@ -%ld +%ld", &os, &ns) < 2)
      return false;
  }
  // Line numbers and counts of a real file: none negative, none near the range of
  // the arithmetic below (the fuzzer's "@@ -9223372036854775807 ..." overflowed it).
  constexpr long kMaxLines = 1L << 40;
  for (long v : {os, ol, ns, nl})
    if (v < 0 || v > kMaxLines) return false;
  h = {os, ol, nl};
  new_start = ns;
  return true;
}

}  // namespace

LineMoves parse_line_moves(const std::string& diff_text) {
  LineMoves moves;
  std::string file;
  // The hunk being read: lines of the old and new file still to come, the next old
  // line number, and the block of changed lines being collected (context lines
  // end one). A hunk given without its body counts as changed as a whole.
  Hunk header;
  int64_t old_left = 0, new_left = 0, old_line = 0;
  bool in_hunk = false, saw_body = false;
  Hunk block;
  bool in_block = false;
  auto close_block = [&]() {
    if (in_block) moves[file].push_back(block);
    in_block = false;
  };
  auto close_hunk = [&]() {
    close_block();
    if (in_hunk && !saw_body) moves[file].push_back(header);
    in_hunk = false;
  };
  size_t pos = 0;
  while (pos < diff_text.size()) {
    size_t end = diff_text.find('\n', pos);
    if (end == std::string::npos) end = diff_text.size();
    std::string line = diff_text.substr(pos, end - pos);
    pos = end + 1;
    if (in_hunk && (old_left > 0 || new_left > 0) && !line.starts_with("@@ ")) {
      char c = line.empty() ? ' ' : line[0];
      if (c == '\\') continue;  // "\ No newline at end of file"
      if (c == ' ' || c == '-' || c == '+') {
        saw_body = true;
        if (c == ' ') {
          close_block();
          ++old_line, --old_left, --new_left;
          continue;
        }
        if (!in_block) {
          // Old lines [old_start, old_start + old_length) replaced by new_length
          // lines; a pure insertion (old_length 0) goes after line old_start.
          block = {old_line, 0, 0};
          in_block = true;
        }
        if (c == '-') {
          if (block.old_length == 0) block.old_start = old_line;
          ++block.old_length, ++old_line, --old_left;
        } else {
          if (block.old_length == 0) block.old_start = old_line - 1;
          ++block.new_length, --new_left;
        }
        continue;
      }
    }
    close_hunk();
    if (line.starts_with("+++ ")) {
      std::string path = line.substr(4);
      file = base_name(path.substr(0, path.find('\t')));
    } else if (line.starts_with("@@ -") && !file.empty()) {
      int64_t new_start = 0;
      if (!parse_header(line, header, new_start)) continue;
      in_hunk = true;
      saw_body = false;
      old_left = header.old_length;
      new_left = header.new_length;
      old_line = header.old_start;
    }
  }
  close_hunk();
  return moves;
}

std::optional<int64_t> moved_line(const std::vector<Hunk>& hunks, int64_t old_line) {
  int64_t shift = 0;
  for (const auto& h : hunks) {
    if (h.old_length > 0 && old_line >= h.old_start && old_line < h.old_start + h.old_length) return std::nullopt;
    int64_t after = h.old_length > 0 ? h.old_start + h.old_length : h.old_start + 1;  // first line moved
    if (old_line >= after) shift += h.new_length - h.old_length;
  }
  return old_line + shift;
}

}  // namespace hotpatch::creator

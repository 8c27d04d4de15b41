#include "creator/build_record.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;  // (whole buffers: a warm create reads every object's dependency file)
  out << in.rdbuf();
  return out.str();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string absolute_from(const std::string& cwd, const std::string& path) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(cwd) / p;
  return p.lexically_normal().string();
}

bool inside(const std::string& path, const std::string& root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/';
}

std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=/.,:@%") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string CompileRecord::command_line() const {
  std::string out = "cd " + shell_word(cwd) + " &&";
  for (const auto& a : argv) out += " " + shell_word(a);
  return out;
}

BuildRecords BuildRecords::read(const std::string& capture_dir) {
  BuildRecords out;
  std::ifstream in(capture_dir + "/records.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a line cut by a killed build
    std::string kind = j.value("kind", "");
    if (kind == "compile") {
      CompileRecord r;
      r.cwd = j.value("cwd", "");
      r.exe = j.value("exe", "");
      r.mode = j.value("mode", "c").empty() ? 'c' : j.value("mode", "c")[0];
      r.argv = j.value("argv", std::vector<std::string>{});
      for (const auto& o : j.value("outputs", std::vector<std::string>{})) r.outputs.push_back(fs::path(o).lexically_normal());
      for (const auto& s : j.value("sources", std::vector<std::string>{})) r.sources.push_back(fs::path(s).lexically_normal());
      r.deps_file = j.value("deps", "");
      r.lto = j.value("lto", false);
      for (const auto& o : r.outputs) out.compiles_[o] = r;
    } else if (kind == "link") {
      LinkRecord r;
      r.cwd = j.value("cwd", "");
      r.argv = j.value("argv", std::vector<std::string>{});
      auto outputs = j.value("outputs", std::vector<std::string>{});
      if (outputs.empty()) continue;
      r.output = fs::path(outputs[0]).lexically_normal();
      r.map_file = j.value("map", "");
      out.links_[r.output] = r;
    }
  }
  return out;
}

const CompileRecord* BuildRecords::compile_of(const std::string& object) const {
  auto it = compiles_.find(fs::path(object).lexically_normal());
  return it == compiles_.end() ? nullptr : &it->second;
}

const LinkRecord* BuildRecords::link_of(const std::string& output) const {
  auto it = links_.find(fs::path(output).lexically_normal());
  return it == links_.end() ? nullptr : &it->second;
}

std::vector<std::string> BuildRecords::dependencies(const CompileRecord& record) const {
  std::vector<std::string> out = record.sources;
  if (!record.deps_file.empty()) {
    for (auto& d : parse_depfile(read_text(record.deps_file), record.cwd)) out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> parse_depfile(const std::string& text, const std::string& cwd) {
  // Words of "target: prereq prereq \<newline> prereq"; several rules (-MP adds
  // empty ones for headers). A word ends at an unescaped space or newline.
  std::vector<std::string> out;
  std::string word;
  bool after_colon = false;
  auto flush = [&](bool colon_follows) {
    if (!word.empty() && after_colon && !colon_follows) out.push_back(absolute_from(cwd, word));
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '\n' || (text[i + 1] == '\r'))) {
      flush(false);
      i += text[i + 1] == '\r' && i + 2 < text.size() && text[i + 2] == '\n' ? 2 : 1;
    } else if (c == '\\' && i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '#')) {
      word += text[++i];
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      word += '$';
      ++i;
    } else if (c == ':' && (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n' || text[i + 1] == '\t' ||
                            text[i + 1] == '\r')) {
      word.clear();  // the target(s)
      after_colon = true;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      flush(false);
    } else if (c == '\n') {
      flush(false);
      after_colon = false;
    } else {
      word += c;
    }
  }
  flush(false);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

LinkMap parse_link_map(const std::string& text, const std::string& cwd) {
  LinkMap out;
  std::set<std::string> archives;
  bool in_members = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("Archive member included", 0) == 0) {
      in_members = true;
      continue;
    }
    if (in_members && !line.empty() && line[0] != ' ' && line[0] != '\t') {
      // "archive(member)   reason", or a header that ends the section.
      size_t open = line.find('(');
      size_t close = open == std::string::npos ? std::string::npos : line.find(')', open);
      if (open == std::string::npos || open == 0 || line[open - 1] == ' ' || close == std::string::npos) {
        in_members = false;
      } else {
        std::string archive = absolute_from(cwd, line.substr(0, open));
        out.members.emplace_back(archive, line.substr(open + 1, close - open - 1));
        archives.insert(archive);
        continue;
      }
    }
    if (line.rfind("LOAD ", 0) == 0) {
      std::string path = absolute_from(cwd, line.substr(5));
      if (archives.count(path) || path.ends_with(".a") || path.ends_with(".so") || path.find(".so.") != std::string::npos)
        continue;
      out.objects.push_back(path);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<uint8_t>>> read_archive(const std::string& path) {
  std::vector<uint8_t> data = read_bytes(path);
  auto starts = [&](const char* magic) { return data.size() >= 8 && std::equal(magic, magic + 8, data.begin()); };
  bool thin = starts("!<thin>\n");
  if (!thin && !starts("!<arch>\n")) throw Error(ErrorKind::Internal, fmt::format("{}: not an ar archive", path));
  std::vector<std::pair<std::string, std::vector<uint8_t>>> out;
  std::string long_names;
  size_t pos = 8;
  while (pos + 60 <= data.size()) {
    std::string name(reinterpret_cast<const char*>(&data[pos]), 16);
    size_t size = std::strtoull(std::string(reinterpret_cast<const char*>(&data[pos + 48]), 10).c_str(), nullptr, 10);
    pos += 60;
    name.erase(name.find_last_not_of(' ') + 1);
    bool special = name == "/" || name == "//" || name == "/SYM64/" || name == "__.SYMDEF" || name == "__.SYMDEF SORTED";
    size_t stored = thin && !special ? 0 : size;  // a thin archive stores only its tables
    if (pos + stored > data.size()) throw Error(ErrorKind::Internal, fmt::format("{}: truncated archive", path));
    std::vector<uint8_t> body(data.begin() + static_cast<long>(pos), data.begin() + static_cast<long>(pos + stored));
    pos += stored + (stored & 1);
    if (name == "//") {
      long_names.assign(body.begin(), body.end());
      continue;
    }
    if (special) continue;
    if (name.size() > 1 && name[0] == '/' && std::isdigit(static_cast<unsigned char>(name[1]))) {
      size_t off = std::strtoull(name.c_str() + 1, nullptr, 10);
      size_t stop = long_names.find('\n', off);
      name = off < long_names.size() ? long_names.substr(off, stop == std::string::npos ? std::string::npos : stop - off) : "";
      if (!name.empty() && name.back() == '/') name.pop_back();
    } else if (name.rfind("#1/", 0) == 0) {  // BSD: the name leads the data
      size_t n = std::strtoull(name.c_str() + 3, nullptr, 10);
      name.assign(body.begin(), body.begin() + static_cast<long>(std::min(n, body.size())));
      name.erase(name.find('\0') == std::string::npos ? name.size() : name.find('\0'));
      body.erase(body.begin(), body.begin() + static_cast<long>(std::min(n, body.size())));
    } else if (!name.empty() && name.back() == '/') {
      name.pop_back();
    }
    if (thin) body = read_bytes(absolute_from(fs::path(path).parent_path().string(), name));
    out.emplace_back(name, std::move(body));
  }
  return out;
}

LinkedObjects objects_linked_into(const BuildRecords& records, const LinkRecord& link, const std::string& root) {
  LinkedObjects out;
  LinkMap map = parse_link_map(read_text(link.map_file), link.cwd);
  std::set<std::string> objects;
  for (const auto& o : map.objects) {
    if (!inside(o, root)) continue;
    if (records.compile_of(o)) objects.insert(o);
    else if (o.ends_with(".o")) out.unrecorded.push_back(o);
  }
  // Archive members: by bytes, among the recorded outputs with the member's name.
  std::map<std::string, std::vector<std::string>> by_name;
  for (const auto& [output, record] : records.compiles()) by_name[fs::path(output).filename()].push_back(output);
  std::map<std::string, std::vector<uint8_t>> file_cache;
  std::map<std::string, std::vector<std::pair<std::string, std::vector<uint8_t>>>> archive_cache;
  for (const auto& [archive, member] : map.members) {
    if (!inside(archive, root)) continue;
    auto& contents = archive_cache[archive];
    if (contents.empty()) contents = read_archive(archive);
    std::string name = fs::path(member).filename();
    bool found = false;
    for (const auto& [mname, bytes] : contents) {
      if (fs::path(mname).filename() != name) continue;
      for (const auto& candidate : by_name[name]) {
        auto& cbytes = file_cache[candidate];
        if (cbytes.empty()) cbytes = read_bytes(candidate);
        if (cbytes == bytes) {
          objects.insert(candidate);
          found = true;
          break;
        }
      }
      if (found) break;
    }
    if (!found) out.unrecorded.push_back(archive + "(" + member + ")");
  }
  out.objects.assign(objects.begin(), objects.end());
  return out;
}

}  // namespace hotpatch::creator

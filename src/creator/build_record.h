// BuildRecords: what the compile wrapper (capture/compile_wrapper.cpp) saw during
// one build of the work tree: every compile (working directory, command as the
// project wrote it, outputs, its dependency file) and every link (with its linker
// map). From them: which objects make up the program (`objects_linked_into`), what
// each one depends on, and how to compile it again.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hotpatch::creator {

struct CompileRecord {
  std::string cwd;
  std::string exe;   // what the build ran (the compiler, or a launcher such as ccache)
  char mode = 'c';   // 'c': exe is the compiler; 'l': a launcher, argv[1] the compiler
  std::vector<std::string> argv;  // as the project wrote it (argv[0] included)
  std::vector<std::string> outputs;  // absolute
  std::vector<std::string> sources;  // absolute
  std::string deps_file;             // make-style dependency file, if any
  bool lto = false;

  std::string command_line() const;  // for messages: "cd DIR && gcc -c ..."
};

struct LinkRecord {
  std::string cwd;
  std::vector<std::string> argv;
  std::string output;    // absolute
  std::string map_file;  // GNU ld -Map output
};

class BuildRecords {
 public:
  // Reads DIR/records.jsonl (absent: no records). A later record for the same
  // output replaces an earlier one (the build recompiled or relinked it).
  static BuildRecords read(const std::string& capture_dir);

  const CompileRecord* compile_of(const std::string& object) const;
  const LinkRecord* link_of(const std::string& output) const;
  const std::map<std::string, CompileRecord>& compiles() const { return compiles_; }
  const std::map<std::string, LinkRecord>& links() const { return links_; }
  // Absolute paths (inside the tree when the build's were) of what `record`
  // depends on: its sources and everything its dependency file lists.
  std::vector<std::string> dependencies(const CompileRecord& record) const;

 private:
  std::map<std::string, CompileRecord> compiles_;  // by output path
  std::map<std::string, LinkRecord> links_;        // by output path
};

// Prerequisites of a make-style dependency file (-MD output), absolute (relative
// ones are taken from `cwd`); escaped spaces and line continuations handled.
std::vector<std::string> parse_depfile(const std::string& text, const std::string& cwd);

// The inputs a GNU ld map file says were linked: plain objects (LOAD lines) and
// archive members pulled in ("libx.a(y.o)"), paths absolute from `cwd`.
struct LinkMap {
  std::vector<std::string> objects;
  std::vector<std::pair<std::string, std::string>> members;  // archive, member name
};
LinkMap parse_link_map(const std::string& text, const std::string& cwd);

// Members of an ar archive (GNU and BSD long names; a thin archive's members are
// read from the files it names). Throws Error(Internal) if it is not one.
std::vector<std::pair<std::string, std::vector<uint8_t>>> read_archive(const std::string& path);

// The compiled objects that `link` put into its output: its plain object inputs
// and archive members, each matched to the recorded compile that produced it (an
// archive member by its bytes: libtool copies objects into archives, even through
// extracted convenience libraries). Inputs outside `root` (crt files, system
// libraries) are ignored; inputs inside it that no recorded compile made are
// listed in `unrecorded`.
struct LinkedObjects {
  std::vector<std::string> objects;     // absolute, sorted, each once
  std::vector<std::string> unrecorded;  // "path" or "archive(member)"
};
LinkedObjects objects_linked_into(const BuildRecords& records, const LinkRecord& link, const std::string& root);

}  // namespace hotpatch::creator

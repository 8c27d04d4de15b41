// CompileArgs: what a compiler driver command line does (compile, link, something
// else), its inputs and outputs, and what `hotpatch create` adds to it. Pure
// functions: used by the compile wrapper (hotpatch-cc) inside the project's build
// and by the Creator when it reruns a recorded command.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hotpatch::creator {

enum class CommandKind { Compile, Link, Other };

struct CompileArgs {
  CommandKind kind = CommandKind::Other;
  std::vector<std::string> sources;  // as written (relative to the command's cwd)
  std::vector<std::string> outputs;  // objects (-c) or the linked file, as written or derived
  bool wants_depfile = false;        // the project asked for -MD/-MMD itself
  std::string project_depfile;       // where its -MD output goes (its -MF, or derived)
  bool has_prefix_map = false;       // its own -ffile-prefix-map/-fdebug-prefix-map/-fmacro-prefix-map
  std::string project_map;           // a -Map the project passes to the linker itself
  bool lto = false;                  // -flto (not -fno-lto)
  bool debug_info = false;           // its last -g option asks for debug information (not -g0)
};

// `args`: the arguments after the driver's name (argv[1..]).
CompileArgs parse_compile_args(const std::vector<std::string>& args);

// The project's arguments as create runs them: -MMD becomes -MD. The dependency
// file goes where the project wants it, with the same targets, and lists headers
// found through -isystem too (a project's own headers often are: a fix to one must
// be seen in every object that includes it). Everything else is left as it is.
std::vector<std::string> arguments_as_run(const std::vector<std::string>& args);

// The flags create adds: one section per function and per variable always (so a
// call to a static function carries a relocation); for a compile, -g when the
// project builds without debug information (the layout checks and the __LINE__ rule
// read it; GCC and clang promise that -g changes no generated code, and run-pre
// matching against the running program proves it for every replaced function);
// dependencies to
// `depfile` unless the project writes its own, and `prefix_map` (old=new) unless it
// maps paths itself; for a link, a linker map to `mapfile` unless it asks for one.
std::vector<std::string> added_flags(const CompileArgs& parsed, const std::string& depfile, const std::string& mapfile,
                                     const std::string& prefix_map);

}  // namespace hotpatch::creator

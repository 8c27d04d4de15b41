#include "creator/hooks.h"

#include <limits.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "creator/build_record.h"
#include "creator/object_file.h"
#include "creator/work_tree.h"

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {

bool has_patch_header(const std::string& dir) { return fs::is_regular_file(dir + "/hotpatch/patch.h"); }

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string hotpatch_include_dir() {
  if (const char* env = std::getenv("HOTPATCH_INCLUDE"); env && *env && has_patch_header(env)) return env;
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    fs::path dir = fs::path(std::string(self, n)).parent_path();
    std::string candidate = (dir / ".." / "include").lexically_normal().string();
    if (has_patch_header(candidate)) return candidate;
  }
  throw Error(ErrorKind::Internal, "cannot find <hotpatch/patch.h> in ../include next to the hotpatch executable; "
                                   "set HOTPATCH_INCLUDE to the directory that holds hotpatch/patch.h");
}

std::vector<std::string> header_flags(const CompileRecord& record) {
  std::vector<std::string> out;
  // argv[0] is the compiler, or a launcher (ccache) whose argv[1] is.
  size_t first = record.mode == 'l' ? 2 : 1;
  static const char* with_value[] = {"-I", "-D", "-U", "-iquote", "-isystem", "-idirafter", "-include", "-imacros",
                                     "--sysroot"};
  for (size_t i = first; i < record.argv.size(); ++i) {
    const std::string& a = record.argv[i];
    bool taken = false;
    for (const char* opt : with_value) {
      if (a == opt && i + 1 < record.argv.size()) {  // "-I dir"
        out.push_back(a);
        out.push_back(record.argv[++i]);
        taken = true;
      } else if (starts(a, opt) && a.size() > std::strlen(opt)) {  // "-Idir", "-DX=1", "--sysroot=dir"
        out.push_back(a);
        taken = true;
      }
      if (taken) break;
    }
    if (taken) continue;
    // A C++ project's -std=c++17 means nothing to a C hook file.
    if ((starts(a, "-std=") && !starts(a, "-std=c++") && !starts(a, "-std=gnu++")) || a == "-funsigned-char" ||
        a == "-fsigned-char" || a == "-fshort-enums" || a == "-fshort-wchar" || starts(a, "-fpack-struct") ||
        a == "-pthread" || a == "-ansi")
      out.push_back(a);
  }
  return out;
}

std::vector<std::string> build_hook_objects(const HookFile& hooks, const std::string& tree, const std::string& work_dir) {
  if (!fs::is_regular_file(hooks.source))
    throw Error(ErrorKind::Usage, fmt::format("--hooks {}: no such file", hooks.source));
  const std::string object = work_dir + "/hooks.o", end = work_dir + "/hooks-eh-end.o";
  const std::string log = work_dir + "/hooks.log";
  fs::remove(log);
  // -fvisibility=hidden: calls between the hook file's functions, and the records'
  // pointers to them, are resolved when the patch is linked, never looked up in the
  // target. -fno-common: a global of the hook file is the patch's own.
  std::string project;
  for (const auto& f : hooks.project_flags) project += " " + shell_quote(f);
  std::string compile = fmt::format("cc -c -fPIC -O2 -g -fvisibility=hidden -fno-common -ffunction-sections "
                                    "-fdata-sections -I{}{} {} -o {} {}",
                                    shell_quote(hotpatch_include_dir()), project, hooks.cflags, shell_quote(object), shell_quote(hooks.source));
  if (run_shell(compile, hooks.project_cwd.empty() ? tree : hooks.project_cwd, log) != 0)
    throw Error(ErrorKind::Usage, fmt::format("compiling the hook file {} failed:\n{}", hooks.source, tail_of_file(log, 15)));
  ObjectFile obj = ObjectFile::read(object);
  for (const auto& sec : obj.sections()) {
    if (sec.name.starts_with(".init_array") || sec.name.starts_with(".fini_array") || sec.name.starts_with(".ctors") ||
        sec.name.starts_with(".dtors"))
      throw Error(ErrorKind::Usage, fmt::format("{}: has a constructor or destructor ({}); a created patch runs none: do "
                                                "that work in HOTPATCH_PRE_APPLY / HOTPATCH_POST_REVERT callbacks",
                                                hooks.source, sec.name));
    if (sec.name.starts_with(".tdata") || sec.name.starts_with(".tbss"))
      throw Error(ErrorKind::Usage, fmt::format("{}: has thread-local variables ({}), which a created patch cannot "
                                                "have; use a shadow variable of the thread's object instead",
                                                hooks.source, sec.name));
  }
  // The unwinder reads the patch's table up to a zero word, which the patch's own
  // assembly writes only when it carries unwind entries; the hook file's entries
  // need one too (a second zero after the first one is harmless).
  std::ofstream(work_dir + "/hooks-eh-end.s") << "\t.section .eh_frame.hotpatch_end,\"a\",@progbits\n\t.long 0\n"
                                              << "\t.section .note.GNU-stack,\"\",@progbits\n";
  if (run_shell(fmt::format("cc -c -o {} hooks-eh-end.s", shell_quote(end)), work_dir, log) != 0)
    throw Error(ErrorKind::Internal, fmt::format("assembling the hook file's unwind terminator failed:\n{}", tail_of_file(log, 5)));
  return {object, end};
}

}  // namespace hotpatch::creator

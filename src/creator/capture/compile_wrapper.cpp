// hotpatch-cc: runs one compiler command of a project's build for `hotpatch create`.
// libhotpatch_capture.so (exec_capture.c) sends every exec of a compiler here:
//
//   hotpatch-cc CAPTURE_DIR MODE EXE ARGV0 ARGS...
//
// MODE 'c': EXE is the compiler; 'l': EXE is a launcher (ccache) and ARGS[0] the
// compiler. The command runs with the flags create needs added (compile_args.h),
// and, when it succeeds, one line is appended to CAPTURE_DIR/records.jsonl: kind,
// working directory, the command as the project wrote it, outputs, sources, and
// the dependency file (the project's own -MD output copied, or ours) or the linker
// map. The Creator reads these to know which objects make up the program, what each
// depends on, and how to compile it again.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "creator/compile_args.h"

extern char** environ;

namespace {

using hotpatch::creator::CommandKind;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "hotpatch-cc: %s\n", what.c_str());
  std::exit(127);
}

std::string absolute(const std::string& cwd, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return cwd + "/" + path;
}

bool copy_file(const std::string& from, const std::string& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return false;
  }
  char buf[65536];
  ssize_t n;
  bool ok = true;
  while ((n = ::read(in, buf, sizeof buf)) > 0)
    if (::write(out, buf, static_cast<size_t>(n)) != n) ok = false;
  ::close(in);
  ::close(out);
  return ok && n == 0;
}

// The environment for the compiler: without our LD_PRELOAD entry, so nothing under
// the compiler (ccache's own exec of gcc, cc1, as, ld) is sent here again.
std::vector<std::string> compiler_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string var = *e;
    if (var.rfind("LD_PRELOAD=", 0) == 0) {
      std::string kept, item;
      std::string value = var.substr(11);
      size_t pos = 0;
      while (pos <= value.size()) {
        size_t end = value.find_first_of(": ", pos);
        if (end == std::string::npos) end = value.size();
        item = value.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty() || item.find("libhotpatch_capture.so") != std::string::npos) continue;
        kept += (kept.empty() ? "" : ":") + item;
      }
      if (!kept.empty()) env.push_back("LD_PRELOAD=" + kept);
      continue;
    }
    env.push_back(var);
  }
  return env;
}

int run(const std::string& exe, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = compiler_environment();
  std::vector<char*> env;
  for (const auto& e : env_strings) env.push_back(const_cast<char*>(e.c_str()));
  env.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) die("fork failed");
  if (pid == 0) {
    // The raw system call: this process has libhotpatch_capture.so loaded too, and
    // its execve would send the compiler back here.
    ::syscall(SYS_execve, exe.c_str(), args.data(), env.data());
    std::fprintf(stderr, "hotpatch-cc: cannot run %s: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) die("waitpid failed");
  if (WIFSIGNALED(status)) {
    std::signal(WTERMSIG(status), SIG_DFL);
    ::raise(WTERMSIG(status));
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

void append_record(const std::string& capture_dir, const nlohmann::json& record) {
  std::string line = record.dump() + "\n";
  std::string path = capture_dir + "/records.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) die("cannot write " + path + ": " + std::strerror(errno));
  ::flock(fd, LOCK_EX);
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::flock(fd, LOCK_UN);
  ::close(fd);
  if (!ok) die("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) die("usage: hotpatch-cc CAPTURE_DIR c|l EXE ARGV0 [ARGS...] (run by hotpatch create)");
  const std::string capture_dir = argv[1];
  const char mode = argv[2][0];
  const std::string exe = argv[3];
  std::vector<std::string> command(argv + 4, argv + argc);  // as the project wrote it
  size_t first_arg = mode == 'l' ? 2 : 1;
  if (command.size() < first_arg) die("launcher without a compiler: " + exe);
  std::vector<std::string> args(command.begin() + static_cast<long>(first_arg), command.end());
  auto parsed = hotpatch::creator::parse_compile_args(args);

  char cwd_buf[PATH_MAX];
  if (!::getcwd(cwd_buf, sizeof cwd_buf)) die("getcwd failed");
  const std::string cwd = cwd_buf;
  struct timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::string id = std::to_string(::getpid()) + "-" + std::to_string(now.tv_sec) + std::to_string(now.tv_nsec);
  const std::string depfile = capture_dir + "/deps/" + id + ".d";
  const std::string mapfile = capture_dir + "/maps/" + id + ".map";
  const char* prefix_map = std::getenv("HOTPATCH_CAPTURE_PREFIX_MAP");
  std::vector<std::string> full(command.begin(), command.begin() + static_cast<long>(first_arg));
  for (auto& a : hotpatch::creator::arguments_as_run(args)) full.push_back(a);
  for (auto& flag : hotpatch::creator::added_flags(parsed, depfile, mapfile, prefix_map ? prefix_map : ""))
    full.push_back(flag);

  int rc = run(exe, full);
  if (rc != 0 || parsed.kind == CommandKind::Other) return rc;

  nlohmann::json record = {{"cwd", cwd}, {"exe", exe}, {"mode", std::string(1, mode)}, {"argv", command}};
  std::vector<std::string> outputs, sources;
  for (const auto& o : parsed.outputs) outputs.push_back(absolute(cwd, o));
  for (const auto& s : parsed.sources) sources.push_back(absolute(cwd, s));
  record["outputs"] = outputs;
  if (parsed.kind == CommandKind::Compile) {
    record["kind"] = "compile";
    record["sources"] = sources;
    if (parsed.lto) record["lto"] = true;
    if (parsed.wants_depfile) {
      // The project's own dependency file: copied now, before its build moves or
      // rewrites it (automake's depcomp renames .Tpo to .Po).
      if (!parsed.project_depfile.empty() && copy_file(absolute(cwd, parsed.project_depfile), depfile))
        record["deps"] = depfile;
    } else if (parsed.sources.size() == 1) {
      record["deps"] = depfile;
    }
  } else {
    record["kind"] = "link";
    // The project's own -Map, if it has one, is copied like its dependency files.
    if (parsed.project_map.empty() || copy_file(absolute(cwd, parsed.project_map), mapfile)) record["map"] = mapfile;
  }
  append_record(capture_dir, record);
  return 0;
}

#include "creator/work_tree.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"

extern char** environ;

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {
constexpr const char* kBuiltMarker = ".hotpatch-unpatched-build";
constexpr const char* kLauncher = "hotpatch-compile";  // CMAKE_<LANG>_COMPILER_LAUNCHER
constexpr const char* kExtraFlags = "-ffunction-sections -fdata-sections";
// Compiler names a build may call; each gets a wrapper when the real one exists.
constexpr const char* kCompilers[] = {"cc", "gcc", "c++", "g++", "x86_64-linux-gnu-gcc", "x86_64-linux-gnu-g++",
                                      "gcc-12", "g++-12", "x86_64-linux-gnu-gcc-12", "x86_64-linux-gnu-g++-12"};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool is_source(const fs::path& p) {
  static const char* exts[] = {".c", ".cc", ".cpp", ".cxx", ".C", ".h", ".hh", ".hpp", ".hxx", ".inc", ".S", ".s"};
  for (const char* e : exts)
    if (p.extension() == e) return true;
  return false;
}
}  // namespace

int run_shell(const std::string& command, const std::string& cwd, const std::string& log, const std::string& path_prefix) {
  std::string script = "cd " + shell_quote(cwd) + " && ";
  if (!path_prefix.empty()) script += "PATH=" + shell_quote(path_prefix) + ":\"$PATH\" ";
  script += "exec /bin/sh -c " + shell_quote(command) + " >>" + shell_quote(log) + " 2>&1 </dev/null";
  pid_t pid;
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
    throw Error(ErrorKind::Internal, errno_message("cannot start /bin/sh", errno));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string tail_of_file(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "  | " + l + "\n";
  return out;
}

WorkTree::WorkTree(std::string source, std::optional<std::string> work) : source_(std::move(source)) {
  if (work) {
    dir_ = fs::absolute(*work).lexically_normal().string();
    fs::create_directories(dir_);
  } else {
    // A private directory (0700, unpredictable name), never a fixed /tmp path.
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/hotpatch-create.XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw Error(ErrorKind::Internal, errno_message("cannot create a work directory", errno));
    dir_ = buf.data();
    temporary_ = true;
  }
  tree_ = dir_ + "/tree";
  wrappers_ = dir_ + "/bin";
}

WorkTree::~WorkTree() {
  if (temporary_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

void WorkTree::write_wrappers() {
  fs::create_directories(wrappers_);
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (const char* name : kCompilers) {
    // The real compiler: the first one in PATH that is not a wrapper of ours.
    std::string real;
    size_t start = 0;
    while (start <= path.size()) {
      size_t end = path.find(':', start);
      std::string entry = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
      start = end == std::string::npos ? path.size() + 1 : end + 1;
      if (entry.empty() || fs::path(entry) == fs::path(wrappers_)) continue;
      std::string candidate = entry + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) {
        real = candidate;
        break;
      }
    }
    if (real.empty()) continue;
    std::string wrapper = wrappers_ + "/" + name;
    std::ofstream out(wrapper);
    out << "#!/bin/sh\n"
        << "# hotpatch create: one section per function and per variable, so that the\n"
        << "# objects can be compared and cut function by function.\n"
        << "exec " << shell_quote(real) << " \"$@\" " << kExtraFlags << "\n";
    out.close();
    ::chmod(wrapper.c_str(), 0755);
  }
  // The same for a build that names its compiler by absolute path: CMake runs
  // `launcher compiler args...` for every compilation.
  std::string launcher = wrappers_ + "/" + kLauncher;
  std::ofstream out(launcher);
  out << "#!/bin/sh\n"
      << "# hotpatch create: CMake's compiler launcher, adding the flags the wrappers add.\n"
      << "exec \"$@\" " << kExtraFlags << "\n";
  out.close();
  ::chmod(launcher.c_str(), 0755);
}

namespace {
// Replaces `from` by `to` where it is a whole path or a path prefix (followed by
// '/', ';', '"' or the end of the line), so /src does not touch /src2.
std::string replace_path(const std::string& text, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t hit = text.find(from, pos);
    if (hit == std::string::npos) break;
    size_t end = hit + from.size();
    bool whole = end == text.size() || text[end] == '/' || text[end] == ';' || text[end] == '"' || text[end] == '\n';
    out += text.substr(pos, hit - pos);
    out += whole ? to : from;
    pos = end;
  }
  return out + text.substr(pos);
}
}  // namespace

void WorkTree::adapt_cmake_build_dirs() {
  std::error_code ec;
  std::vector<fs::path> caches;
  for (const auto& entry : fs::recursive_directory_iterator(tree_, ec))
    if (entry.is_regular_file() && entry.path().filename() == "CMakeCache.txt") caches.push_back(entry.path());
  const std::string launcher = wrappers_ + "/" + kLauncher;
  for (const auto& cache : caches) {
    std::ifstream in(cache);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    text = replace_path(text, source_, tree_);
    // Our launcher first; a launcher the project already uses (ccache) after it.
    std::string lines;
    size_t pos = 0;
    std::map<std::string, std::string> launchers = {{"CMAKE_C_COMPILER_LAUNCHER", ""}, {"CMAKE_CXX_COMPILER_LAUNCHER", ""}};
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      bool ours = false;
      for (auto& [key, previous] : launchers) {
        if (line.rfind(key + ":", 0) == 0 && line.find('=') != std::string::npos) {
          previous = line.substr(line.find('=') + 1);
          ours = true;
        }
      }
      if (!ours) lines += line + "\n";
    }
    for (const auto& [key, previous] : launchers)
      lines += key + ":STRING=" + launcher + (previous.empty() || previous == launcher ? "" : ";" + previous) + "\n";
    std::ofstream(cache, std::ios::trunc) << lines;
    // Regenerate the build system from the edited cache, in place.
    std::string dir = cache.parent_path().string();
    std::string log = dir_ + "/build.log";
    std::ofstream(log, std::ios::app) << "\n==== re-configuring the copied CMake build directory " << dir << "\n";
    if (run_shell("cmake .", dir, log) != 0)
      throw Error(ErrorKind::Usage, fmt::format("re-configuring the copied CMake build directory {} failed; last lines of "
                                                "{}:\n{}", dir, log, tail_of_file(log, 15)));
  }
}

bool WorkTree::prepare(const std::string& build_command) {
  write_wrappers();
  if (fs::exists(dir_ + "/" + kBuiltMarker) && fs::exists(tree_)) return false;
  std::error_code ec;
  fs::remove_all(tree_, ec);
  fs::create_directories(tree_);
  // cp -a keeps modification times: generated files (configure, Makefile.in,
  // aclocal.m4) must stay newer than their inputs, or make would regenerate them.
  std::string log = dir_ + "/copy.log";
  if (run_shell("cp -a " + shell_quote(source_ + "/.") + " " + shell_quote(tree_ + "/"), dir_, log) != 0)
    throw Error(ErrorKind::Internal, fmt::format("cannot copy {} to {}:\n{}", source_, tree_, tail_of_file(log, 5)));
  // The copy may hold objects built without our flags: make every source newer so
  // the build recompiles all of it.
  auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::recursive_directory_iterator(tree_, ec))
    if (entry.is_regular_file() && is_source(entry.path())) fs::last_write_time(entry.path(), now, ec);
  adapt_cmake_build_dirs();
  build(build_command, "the unpatched tree");
  std::ofstream(dir_ + "/" + kBuiltMarker) << source_ << "\n";
  return true;
}

void WorkTree::build(const std::string& build_command, const std::string& what) {
  std::string log = dir_ + "/build.log";
  std::ofstream(log, std::ios::app) << "\n==== " << what << ": " << build_command << "\n";
  int rc = run_shell(build_command, tree_, log, wrappers_);
  if (rc != 0)
    throw Error(ErrorKind::Usage, fmt::format("building {} with '{}' failed (exit {}); last lines of {}:\n{}", what,
                                              build_command, rc, log, tail_of_file(log, 15)));
}

void WorkTree::apply_diff(const std::string& diff_path, bool reverse) {
  std::string log = dir_ + "/patch.log";
  std::string cmd = fmt::format("patch -p1 --batch --forward {} -i {}", reverse ? "-R" : "", shell_quote(diff_path));
  int rc = run_shell(cmd, tree_, log);
  if (rc != 0)
    throw Error(ErrorKind::Usage, fmt::format("the diff {} does not {} cleanly:\n{}", diff_path,
                                              reverse ? "reverse" : "apply", tail_of_file(log, 10)));
  std::ofstream(log, std::ios::trunc);
}

std::map<std::string, std::vector<uint8_t>> WorkTree::objects() const {
  std::map<std::string, std::vector<uint8_t>> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(tree_, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".o") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out[fs::relative(entry.path(), tree_).string()] = std::move(bytes);
  }
  return out;
}

}  // namespace hotpatch::creator

#include "creator/work_tree.h"

#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "creator/build_record.h"

extern char** environ;

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {
constexpr const char* kStateFile = "state.json";
// Bump when the cache layout or what goes into it changes (the wrapper's flags too):
// a cache made by another hotpatch version is made again as well.
constexpr int kCacheFormat = 3;

bool has_extension(const fs::path& p, std::initializer_list<const char*> exts) {
  for (const char* e : exts)
    if (p.extension() == e) return true;
  return false;
}

bool is_source(const fs::path& p) {
  return has_extension(p, {".c", ".cc", ".cpp", ".cxx", ".c++", ".C", ".h", ".hh", ".hpp", ".hxx", ".h++", ".inc",
                           ".ipp", ".tcc", ".S", ".s", ".def", ".x"});
}

// Files that say how the tree is built: a change to one is a change of the build.
bool is_build_file(const fs::path& p) {
  std::string name = p.filename().string();
  return name == "Makefile" || name == "makefile" || name == "GNUmakefile" || name == "configure" ||
         name == "CMakeLists.txt" || name == "meson.build" || name == "meson_options.txt" ||
         has_extension(p, {".mk", ".am", ".in", ".ac", ".m4", ".cmake"});
}

// Where the capture tools are: next to the hotpatch executable (build tree), or in
// LIBEXECDIR/hotpatch (installed; cmake/creator.cmake gives the relative path).
std::string find_tool(const std::string& name) {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir = fs::path(std::string(self, static_cast<size_t>(n))).parent_path().string();
    for (const std::string& candidate : {dir + "/" + name, dir + "/" HOTPATCH_BINDIR_TO_LIBEXECDIR "/hotpatch/" + name})
      if (::access(candidate.c_str(), R_OK) == 0) return fs::canonical(candidate).string();
  }
  throw Error(ErrorKind::Internal, fmt::format("cannot find {} next to the hotpatch executable or in its "
                                               "{}/hotpatch (is hotpatch installed completely?)", name,
                                               HOTPATCH_BINDIR_TO_LIBEXECDIR));
}

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

struct Entry {
  fs::file_type type;
  uintmax_t size = 0;
  fs::file_time_type mtime;
};

// Every path under `root` (relative), without following symbolic links.
std::map<std::string, Entry> list_tree(const std::string& root) {
  std::map<std::string, Entry> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    Entry e;
    e.type = it->symlink_status().type();
    if (e.type == fs::file_type::regular) {
      e.size = it->file_size(ec);
      e.mtime = it->last_write_time(ec);
    }
    out[it->path().lexically_relative(root).string()] = e;
  }
  return out;
}

}  // namespace

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

namespace {
volatile sig_atomic_t g_interrupted = 0;
volatile pid_t g_running_group = 0;
constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];

void on_interrupt(int sig) {
  g_interrupted = sig;
  if (pid_t group = g_running_group; group > 0) ::kill(-group, sig);
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted = 0;
  struct sigaction sa{};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < 3; ++i) {
    ::sigaction(kInterruptSignals[i], nullptr, &g_previous[i]);
    // (a signal the caller chose to ignore, as nohup does, stays ignored)
    if (g_previous[i].sa_handler != SIG_IGN) ::sigaction(kInterruptSignals[i], &sa, nullptr);
  }
}

InterruptGuard::~InterruptGuard() {
  for (size_t i = 0; i < 3; ++i) ::sigaction(kInterruptSignals[i], &g_previous[i], nullptr);
}

int InterruptGuard::signal() { return g_interrupted; }

int run_shell(const std::string& command, const std::string& cwd, const std::string& log,
              const std::map<std::string, std::string>& env) {
  if (g_interrupted) throw Error(ErrorKind::Internal, "interrupted");
  std::string script = "cd " + shell_quote(cwd) + " && exec /bin/sh -c " + shell_quote(command) + " >>" +
                       shell_quote(log) + " 2>&1 </dev/null";
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string var = *e;
    if (!env.count(var.substr(0, var.find('=')))) env_strings.push_back(var);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid;
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int rc = posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char* const*>(argv), envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw Error(ErrorKind::Internal, errno_message("cannot start /bin/sh", rc));
  g_running_group = pid;
  if (g_interrupted) ::kill(-pid, g_interrupted);  // came while starting it
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_running_group = 0;
  if (g_interrupted) throw Error(ErrorKind::Internal, "interrupted");
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

std::string source_state(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_directory() && it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && (is_source(it->path()) || is_build_file(it->path()))) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  uint64_t h = 0xcbf29ce484222325ULL;
  std::vector<char> buf(1 << 16);
  for (const auto& f : files) {
    std::string rel = f.lexically_relative(dir).string();
    h = fnv1a(h, rel.c_str(), rel.size() + 1);
    std::ifstream in(f, std::ios::binary);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
      h = fnv1a(h, buf.data(), static_cast<size_t>(in.gcount()));
    h = fnv1a(h, "", 1);
  }
  return fmt::format("{:016x}:{}", h, files.size());
}

WorkTree::WorkTree(std::string source, std::optional<std::string> work) : source_(std::move(source)) {
  capture_lib_ = find_tool("libhotpatch_capture.so");
  wrapper_ = find_tool("hotpatch-cc");
  if (work) {
    dir_ = fs::absolute(*work).lexically_normal().string();
    if (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
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
  // The physical path: the compile wrapper records getcwd()'s, which has no symlinks.
  dir_ = fs::canonical(dir_).string();
  lock_fd_ = ::open((dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw Error(ErrorKind::Usage, errno_message(fmt::format("--work {}", dir_), errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw Error(ErrorKind::Usage, fmt::format("--work {}: another hotpatch create is using it", dir_));
  }
  tree_ = dir_ + "/tree";
  base_ = dir_ + "/base";
}

WorkTree::~WorkTree() {
  std::error_code ec;
  if (temporary_) {
    fs::remove_all(dir_, ec);
  } else {
    // Whatever happened, a kept work directory is left as the cache it was.
    try {
      if (fs::exists(dir_ + "/" + kStateFile) && fs::is_directory(base_)) restore();
    } catch (...) {
    }
  }
  ::close(lock_fd_);  // (and its lock with it)
}

void WorkTree::fresh_records(const std::string& name) const {
  std::string dir = records(name);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir + "/deps");
  fs::create_directories(dir + "/maps");
}

bool WorkTree::has_cache() const { return fs::exists(dir_ + "/" + kStateFile); }

std::optional<nlohmann::json> WorkTree::valid_cache(const CacheKey& key) const {
  std::ifstream in(dir_ + "/" + kStateFile);
  if (!in) return std::nullopt;
  nlohmann::json state = nlohmann::json::parse(in, nullptr, false);
  if (state.is_discarded() || !state.is_object() || state.value("format", 0) != kCacheFormat ||
      state.value("hotpatch_version", "") != HOTPATCH_VERSION)
    return std::nullopt;
  CacheKey saved{state.value("source", ""), state.value("build_command", ""), state.value("binary", ""),
                 state.value("build_id", ""), state.value("source_state", "")};
  if (!(saved == key) || !fs::is_directory(base_)) return std::nullopt;
  return state;
}

void WorkTree::commit_cache(const CacheKey& key, const nlohmann::json& extra) {
  nlohmann::json state = extra;
  state["format"] = kCacheFormat;
  state["hotpatch_version"] = HOTPATCH_VERSION;
  state["source"] = key.source;
  state["build_command"] = key.build_command;
  state["binary"] = key.binary;
  state["build_id"] = key.build_id;
  state["source_state"] = key.source_state;
  state["source_date_epoch"] = epoch_;
  std::string tmp = dir_ + "/" + kStateFile + ".tmp";
  std::ofstream(tmp, std::ios::trunc) << state.dump(1) << "\n";
  fs::rename(tmp, dir_ + "/" + kStateFile);
}

void WorkTree::copy_source(const std::string& binary) {
  std::error_code ec;
  fs::remove(dir_ + "/" + kStateFile, ec);  // first: from here on, no valid cache
  fs::remove_all(tree_, ec);
  fs::remove_all(base_, ec);
  fs::remove_all(dir_ + "/records", ec);
  fs::create_directories(tree_);
  // cp -a keeps modification times: generated files (configure, Makefile.in,
  // aclocal.m4) must stay newer than their inputs, or make would regenerate them.
  std::string log = dir_ + "/copy.log";
  if (run_shell("cp -a " + shell_quote(source_ + "/.") + " " + shell_quote(tree_ + "/"), dir_, log) != 0)
    throw Error(ErrorKind::Internal, fmt::format("cannot copy {} to {}:\n{}", source_, tree_, tail_of_file(log, 5)));
  // Objects in the copy were built without our flags and without a record of how:
  // delete those the tree has a source for (and archives made only of them), so the
  // build compiles them again through the wrapper; and the program, so it is linked
  // again and its link recorded.
  std::set<std::string> stems;
  std::vector<fs::path> objects, archives;
  for (auto it = fs::recursive_directory_iterator(tree_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file()) continue;
    const fs::path& p = it->path();
    if (is_source(p)) stems.insert(p.stem().string());
    else if (p.extension() == ".o" || p.extension() == ".lo") objects.push_back(p);
    else if (p.extension() == ".a") archives.push_back(p);
  }
  auto object_stem = [&](const fs::path& p) {
    fs::path stem = p.stem();  // calc.o -> calc; CMake's calc.c.o -> calc.c -> calc
    return is_source(stem) ? stem.stem().string() : stem.string();
  };
  removed_.clear();
  auto remove = [&](const fs::path& p) {
    if (fs::remove(p, ec)) removed_.push_back(fs::relative(p, tree_, ec).string());
  };
  for (const auto& o : objects)
    if (stems.count(object_stem(o))) remove(o);
  for (const auto& a : archives) {
    bool ours = true;
    try {
      for (const auto& [name, bytes] : read_archive(a.string()))
        if (!stems.count(object_stem(fs::path(name)))) ours = false;
    } catch (const Error&) {
      ours = false;
    }
    if (ours) remove(a);
  }
  fs::remove(tree_ + "/" + binary, ec);
  touch_sources();
  adapt_build_dirs();
}

std::vector<std::string> WorkTree::removed_not_rebuilt() const {
  std::string tail = tail_of_file(dir_ + "/build.log", 15);
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& rel : removed_)
    if (!fs::exists(fs::path(tree_) / rel, ec) && tail.find(fs::path(rel).filename().string()) != std::string::npos)
      out.push_back(rel);
  return out;
}

void WorkTree::touch(const std::vector<std::string>& paths) {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& p : paths)
    if (p.rfind(tree_ + "/", 0) == 0 && fs::is_regular_file(p, ec)) fs::last_write_time(p, now, ec);
}

void WorkTree::touch_sources() {
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (auto it = fs::recursive_directory_iterator(tree_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && is_source(it->path())) fs::last_write_time(it->path(), now, ec);
  }
}

void WorkTree::snapshot() {
  std::error_code ec;
  fs::remove_all(base_, ec);
  fs::create_directories(base_);
  std::string log = dir_ + "/copy.log";
  if (run_shell("cp -a " + shell_quote(tree_ + "/.") + " " + shell_quote(base_ + "/"), dir_, log) != 0)
    throw Error(ErrorKind::Internal, fmt::format("cannot copy {} to {}:\n{}", tree_, base_, tail_of_file(log, 5)));
}

void WorkTree::restore() {
  auto want = list_tree(base_);
  auto have = list_tree(tree_);
  std::error_code ec;
  // What the base does not have (deepest first, so a directory goes after its files).
  for (auto it = have.rbegin(); it != have.rend(); ++it) {
    auto w = want.find(it->first);
    if (w == want.end() || w->second.type != it->second.type) fs::remove_all(fs::path(tree_) / it->first, ec);
  }
  for (const auto& [rel, e] : want) {
    fs::path from = fs::path(base_) / rel, to = fs::path(tree_) / rel;
    auto h = have.find(rel);
    bool same_type = h != have.end() && h->second.type == e.type;
    if (e.type == fs::file_type::directory) {
      if (!same_type) fs::create_directories(to);
    } else if (e.type == fs::file_type::symlink) {
      if (!same_type || fs::read_symlink(to, ec) != fs::read_symlink(from, ec)) {
        fs::remove(to, ec);
        fs::copy_symlink(from, to);
      }
    } else if (e.type == fs::file_type::regular) {
      if (same_type && h->second.size == e.size && h->second.mtime == e.mtime) continue;
      fs::remove(to, ec);  // (a read-only file cannot be overwritten in place)
      fs::copy_file(from, to);
      fs::permissions(to, fs::status(from).permissions());
      fs::last_write_time(to, e.mtime);
    }
  }
}

// A Meson build directory names the trees in its private state and in the rule
// that regenerates it (`meson --internal regenerate SRC BUILD`): once the build
// files change, ninja would regenerate the user's own build directory. Reconfigured
// in the copy for the copy's source directory (what SRC is in the copy).
void WorkTree::adapt_meson_build_dir(const std::string& dir) {
  std::ifstream in(dir + "/build.ninja");
  std::string line, meson, src;
  while (std::getline(in, line)) {
    size_t at = line.find(" --internal regenerate ");
    if (line.rfind(" command = ", 0) != 0 || at == std::string::npos) continue;
    meson = line.substr(11, at - 11);
    std::string rest = line.substr(at + 23);
    src = rest.substr(0, rest.find(' '));
    break;
  }
  if (src != source_ && src.rfind(source_ + "/", 0) != 0) return;  // not made for the user's tree
  std::string copy_src = tree_ + src.substr(source_.size());
  std::string log = dir_ + "/build.log";
  std::ofstream(log, std::ios::app) << "\n==== re-configuring the copied Meson build directory " << dir << "\n";
  if (run_shell(fmt::format("{} setup --reconfigure . {}", meson, shell_quote(copy_src)), dir, log) != 0)
    throw Error(ErrorKind::Usage, fmt::format("re-configuring the copied Meson build directory {} failed; last lines of "
                                              "{}:\n{}", dir, log, tail_of_file(log, 15)));
}

void WorkTree::adapt_build_dirs() {
  std::error_code ec;
  std::vector<fs::path> caches, meson_dirs;
  for (auto it = fs::recursive_directory_iterator(tree_, ec); it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && it->path().filename() == "CMakeCache.txt") caches.push_back(it->path());
    if (it->is_regular_file() && it->path().filename() == "coredata.dat" &&
        it->path().parent_path().filename() == "meson-private")
      meson_dirs.push_back(it->path().parent_path().parent_path());
  }
  for (const auto& dir : meson_dirs) adapt_meson_build_dir(dir.string());
  for (const auto& cache : caches) {
    // The copied cache names the original tree: point it at the copy (a whole path
    // or a path prefix only, so /src does not touch /src2) and let CMake regenerate.
    std::ifstream in(cache);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t hit = text.find(source_, pos);
      if (hit == std::string::npos) break;
      size_t end = hit + source_.size();
      bool whole = end == text.size() || text[end] == '/' || text[end] == ';' || text[end] == '"' || text[end] == '\n';
      out += text.substr(pos, hit - pos) + (whole ? tree_ : source_);
      pos = end;
    }
    std::ofstream(cache, std::ios::trunc) << out + text.substr(pos);
    std::string dir = cache.parent_path().string();
    std::string log = dir_ + "/build.log";
    std::ofstream(log, std::ios::app) << "\n==== re-configuring the copied CMake build directory " << dir << "\n";
    if (run_shell("cmake .", dir, log) != 0)
      throw Error(ErrorKind::Usage, fmt::format("re-configuring the copied CMake build directory {} failed; last lines of "
                                                "{}:\n{}", dir, log, tail_of_file(log, 15)));
  }
}

std::map<std::string, std::string> WorkTree::build_environment(const std::string& records_name) const {
  std::map<std::string, std::string> env;
  const char* preload = std::getenv("LD_PRELOAD");
  env["LD_PRELOAD"] = capture_lib_ + (preload && *preload ? std::string(":") + preload : "");
  env["HOTPATCH_CAPTURE_WRAPPER"] = wrapper_;
  env["HOTPATCH_CAPTURE_DIR"] = records(records_name);
  // __FILE__ and debug paths name the user's tree, as in the program that runs.
  env["HOTPATCH_CAPTURE_PREFIX_MAP"] = tree_ + "=" + source_;
  if (!epoch_.empty()) env["SOURCE_DATE_EPOCH"] = epoch_;
  return env;
}

void WorkTree::build(const std::string& build_command, const std::string& what, const std::string& records_name) {
  std::string log = dir_ + "/build.log";
  std::ofstream(log, std::ios::app) << "\n==== " << what << ": " << build_command << "\n";
  int rc = run_shell(build_command, tree_, log, build_environment(records_name));
  if (rc != 0)
    throw Error(ErrorKind::Usage, fmt::format("building {} with '{}' failed (exit {}); last lines of {}:\n{}", what,
                                              build_command, rc, log, tail_of_file(log, 15)));
}

void WorkTree::recompile(const std::string& cwd, const std::string& exe, char mode, const std::vector<std::string>& argv,
                         const std::string& records_name) {
  std::string command = shell_quote(wrapper_) + " " + shell_quote(records(records_name)) + " " + std::string(1, mode) +
                        " " + shell_quote(exe);
  for (const auto& a : argv) command += " " + shell_quote(a);
  std::string log = dir_ + "/build.log";
  std::ofstream(log, std::ios::app) << "\n==== recompiling in " << cwd << ": " << command << "\n";
  auto env = build_environment(records_name);
  env.erase("LD_PRELOAD");
  int rc = run_shell(command, cwd, log, env);
  if (rc != 0)
    throw Error(ErrorKind::Usage, fmt::format("compiling again in {} failed (exit {}); last lines of {}:\n{}", cwd, rc, log,
                                              tail_of_file(log, 15)));
}

void WorkTree::apply_diff(const std::string& diff_path) {
  std::string log = dir_ + "/patch.log";
  std::ofstream(log, std::ios::trunc);
  int rc = run_shell("patch -p1 --batch --forward -i " + shell_quote(diff_path), tree_, log);
  if (rc != 0)
    throw Error(ErrorKind::Usage, fmt::format("the diff {} does not apply cleanly:\n{}", diff_path, tail_of_file(log, 10)));
}

}  // namespace hotpatch::creator

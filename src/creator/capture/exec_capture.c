/* libhotpatch_capture.so: loaded with LD_PRELOAD into every process of a project's
 * build while `hotpatch create` runs it. When a process runs a C/C++ compiler
 * (however the build names it: `cc`, `make CC=/usr/bin/gcc`, gcc-13, clang++, a
 * CMake or Meson build dir's absolute path, ccache in front), the exec is sent
 * through hotpatch's compile wrapper instead (hotpatch-cc), which adds the flags
 * the Creator needs and records the command (compile_wrapper.cpp). Everything else
 * runs untouched.
 *
 * This code runs inside programs we do not know, possibly in the child of a fork()
 * of a multi-threaded parent: no allocation, no locks, no stdio. The real functions
 * are looked up once, in the constructor. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler_names.h"

/* glibc declares the path arguments nonnull; programs still pass NULL sometimes,
 * and then the real function must see it and fail as it always did. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"

#define EXPORT __attribute__((visibility("default")))

typedef int (*execve_fn)(const char*, char* const[], char* const[]);
typedef int (*execvp_fn)(const char*, char* const[]);
typedef int (*execvpe_fn)(const char*, char* const[], char* const[]);
typedef int (*spawn_fn)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                        char* const[], char* const[]);

static execve_fn real_execve;
static execvpe_fn real_execvpe;
static spawn_fn real_posix_spawn;
static spawn_fn real_posix_spawnp;
static char wrapper[PATH_MAX];
static char capture_dir[PATH_MAX];

extern char** environ;

__attribute__((constructor)) static void capture_init(void) {
  real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
  real_execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
  real_posix_spawn = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawn");
  real_posix_spawnp = (spawn_fn)dlsym(RTLD_NEXT, "posix_spawnp");
  const char* w = getenv("HOTPATCH_CAPTURE_WRAPPER");
  const char* d = getenv("HOTPATCH_CAPTURE_DIR");
  if (w && d && strlen(w) < sizeof wrapper && strlen(d) < sizeof capture_dir) {
    strcpy(wrapper, w);
    strcpy(capture_dir, d);
  }
}

/* Follows symbolic links of the last component (cc -> /etc/alternatives/cc ->
 * /usr/bin/gcc -> gcc-12 -> x86_64-linux-gnu-gcc-12): what the file really is. */
static void resolve_links(const char* path, char* out, size_t size) {
  char link[PATH_MAX];
  size_t n = strlen(path);
  if (n >= size) n = size - 1;
  memcpy(out, path, n);
  out[n] = '\0';
  for (int hops = 0; hops < 40; ++hops) {
    ssize_t len = readlink(out, link, sizeof link - 1);
    if (len <= 0) return;
    link[len] = '\0';
    if (link[0] == '/') {
      if ((size_t)len >= size) return;
      memcpy(out, link, (size_t)len + 1);
    } else {
      char* slash = strrchr(out, '/');
      size_t dir = slash ? (size_t)(slash - out) + 1 : 0;
      if (dir + (size_t)len >= size) return;
      memcpy(out + dir, link, (size_t)len + 1);
    }
  }
}

/* The file execvp(name) would run: `name` itself if it has a slash, else the first
 * executable regular file called `name` in $PATH. */
static int search_path(const char* name, char* out, size_t size) {
  if (strchr(name, '/')) {
    if (strlen(name) >= size) return 0;
    strcpy(out, name);
    return 1;
  }
  const char* path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  size_t name_len = strlen(name);
  while (*path) {
    const char* end = strchr(path, ':');
    size_t dir_len = end ? (size_t)(end - path) : strlen(path);
    if (dir_len + 1 + name_len < size) {
      if (dir_len == 0) {
        memcpy(out, name, name_len + 1);
      } else {
        memcpy(out, path, dir_len);
        out[dir_len] = '/';
        memcpy(out + dir_len + 1, name, name_len + 1);
      }
      if (access(out, X_OK) == 0) return 1;
    }
    if (!end) break;
    path = end + 1;
  }
  return 0;
}

/* 'c': `exe` is a compiler (arguments from argv[1]); 'l': a launcher whose argv[1]
 * is the compiler (arguments from argv[2]); 0: anything else. */
static char classify(const char* exe, char* const argv[]) {
  char real[PATH_MAX];
  resolve_links(exe, real, sizeof real);
  const char* base = hp_base_name(real);
  if (hp_is_compiler_name(base)) return 'c';
  if (!hp_is_launcher_name(base)) return 0;
  if (hp_is_compiler_name(hp_base_name(exe)) || (argv[0] && hp_is_compiler_name(hp_base_name(argv[0])))) return 'c';
  if (!argv[0] || !argv[1] || argv[1][0] == '-') return 0;
  char found[PATH_MAX];
  if (!search_path(argv[1], found, sizeof found)) return 0;
  resolve_links(found, real, sizeof real);
  return hp_is_compiler_name(hp_base_name(real)) ? 'l' : 0;
}

static size_t count(char* const argv[]) {
  size_t n = 0;
  while (argv && argv[n]) ++n;
  return n;
}

/* [wrapper, capture_dir, mode, exe, argv...]: what runs instead of `exe argv...`. */
static void wrapped_argv(char** out, char mode, const char* exe, char* const argv[], char* mode_buf) {
  mode_buf[0] = mode;
  mode_buf[1] = '\0';
  out[0] = wrapper;
  out[1] = capture_dir;
  out[2] = mode_buf;
  out[3] = (char*)exe;
  size_t n = count(argv);
  for (size_t i = 0; i < n; ++i) out[4 + i] = argv[i];
  out[4 + n] = NULL;
}

static int active(void) { return wrapper[0] != '\0'; }

EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  char mode = active() && path ? classify(path, argv) : 0;
  if (!mode) return real_execve(path, argv, envp);
  char* args[count(argv) + 5];
  char mode_buf[2];
  wrapped_argv(args, mode, path, argv, mode_buf);
  return real_execve(wrapper, args, envp);
}

EXPORT int execv(const char* path, char* const argv[]) { return execve(path, argv, environ); }

EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  char found[PATH_MAX];
  if (!active() || !file || !search_path(file, found, sizeof found)) return real_execvpe(file, argv, envp);
  char mode = classify(found, argv);
  if (!mode) return real_execvpe(file, argv, envp);
  char* args[count(argv) + 5];
  char mode_buf[2];
  wrapped_argv(args, mode, found, argv, mode_buf);
  return real_execve(wrapper, args, envp);
}

EXPORT int execvp(const char* file, char* const argv[]) { return execvpe(file, argv, environ); }

/* execl, execlp, execle: the variadic list as an array on the stack. */
#define COLLECT_VARARGS(first, last_arg, args, extra)          \
  size_t n = 1;                                                \
  va_list ap;                                                  \
  va_start(ap, last_arg);                                      \
  {                                                            \
    va_list counting;                                          \
    va_copy(counting, ap);                                     \
    while (va_arg(counting, char*)) ++n;                       \
    va_end(counting);                                          \
  }                                                            \
  char* args[n + 1];                                           \
  args[0] = (char*)(first);                                    \
  for (size_t i = 1; i <= n; ++i) args[i] = va_arg(ap, char*); \
  extra;                                                       \
  va_end(ap)

EXPORT int execl(const char* path, const char* arg, ...) {
  COLLECT_VARARGS(arg, arg, args, (void)0);
  return execve(path, args, environ);
}

EXPORT int execlp(const char* file, const char* arg, ...) {
  COLLECT_VARARGS(arg, arg, args, (void)0);
  return execvpe(file, args, environ);
}

EXPORT int execle(const char* path, const char* arg, ...) {
  char* const* envp;
  COLLECT_VARARGS(arg, arg, args, envp = va_arg(ap, char* const*));
  return execve(path, args, envp);
}

EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                       const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  char mode = active() && path ? classify(path, argv) : 0;
  if (!mode) return real_posix_spawn(pid, path, actions, attr, argv, envp);
  char* args[count(argv) + 5];
  char mode_buf[2];
  wrapped_argv(args, mode, path, argv, mode_buf);
  return real_posix_spawn(pid, wrapper, actions, attr, args, envp);
}

EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                        const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  char found[PATH_MAX];
  if (!active() || !file || !search_path(file, found, sizeof found))
    return real_posix_spawnp(pid, file, actions, attr, argv, envp);
  char mode = classify(found, argv);
  if (!mode) return real_posix_spawnp(pid, file, actions, attr, argv, envp);
  char* args[count(argv) + 5];
  char mode_buf[2];
  wrapped_argv(args, mode, found, argv, mode_buf);
  return real_posix_spawn(pid, wrapper, actions, attr, args, envp);
}

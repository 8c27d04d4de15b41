/* What an executable is, for build capture: a C/C++ compiler driver, a compiler
 * launcher (ccache and the like), or something else. Plain C, no allocation:
 * used inside every process of a project's build (exec_capture.c, where a
 * child of fork() may call it) and by the unit tests. */
#ifndef HOTPATCH_CREATOR_CAPTURE_COMPILER_NAMES_H
#define HOTPATCH_CREATOR_CAPTURE_COMPILER_NAMES_H

#include <string.h>

/* "dir/x" -> "x" */
static inline const char* hp_base_name(const char* path) {
  const char* slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* A compiler driver's name: gcc, g++, cc, c++, clang or clang++, with an optional
 * target prefix ("x86_64-linux-gnu-") and version suffixes ("-12", "-14.0.6"):
 * gcc-13, x86_64-linux-gnu-g++-12, clang-14. Not gcc-ar, gcc-nm, clang-cpp,
 * clang-format: the last word before the version must be the driver itself. */
static inline int hp_is_compiler_name(const char* base) {
  size_t len = strlen(base);
  /* strip "-<digits and dots>" suffixes */
  for (;;) {
    size_t i = len;
    while (i > 0 && ((base[i - 1] >= '0' && base[i - 1] <= '9') || base[i - 1] == '.')) --i;
    if (i == len || i == 0 || base[i - 1] != '-') break;
    len = i - 1;
  }
  size_t word = len;
  while (word > 0 && base[word - 1] != '-') --word;
  static const char* const drivers[] = {"gcc", "g++", "cc", "c++", "clang", "clang++"};
  for (size_t k = 0; k < sizeof drivers / sizeof drivers[0]; ++k) {
    size_t n = strlen(drivers[k]);
    if (len - word == n && memcmp(base + word, drivers[k], n) == 0) return 1;
  }
  return 0;
}

/* A launcher runs the compiler named by its first argument (`ccache gcc -c x.c`),
 * or the compiler whose name it was called by (Debian's /usr/lib/ccache/gcc). */
static inline int hp_is_launcher_name(const char* base) {
  static const char* const launchers[] = {"ccache", "distcc", "sccache", "icecc"};
  for (size_t k = 0; k < sizeof launchers / sizeof launchers[0]; ++k)
    if (strcmp(base, launchers[k]) == 0) return 1;
  return 0;
}

#endif

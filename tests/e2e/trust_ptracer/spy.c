// LD_PRELOADed into the service: every prctl(PR_SET_PTRACER, ...) the process makes is
// made, then written to stderr (the service's log) with what the named pid is at that
// moment: its parent, its program, whether LD_PRELOAD is in its environment. (Made
// first: whoever reads the line knows the grant is in place.)
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static ssize_t read_file(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = 0;
  return n;
}

int prctl(int option, ...) {
  va_list ap;
  va_start(ap, option);
  unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
  unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
  va_end(ap);
  int rc = (int)syscall(SYS_prctl, option, a2, a3, a4, a5);
  if (option == PR_SET_PTRACER) {
    long named = (long)a2;
    char path[64], exe[512] = "?", text[65536];
    int parent = -1, preload = 0;
    snprintf(path, sizeof path, "/proc/%ld/exe", named);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    exe[n < 0 ? 1 : n] = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", named);
    if (read_file(path, text, sizeof text) > 0) {
      const char* after_name = strrchr(text, ')');
      if (after_name) sscanf(after_name, ") %*c %d", &parent);
    }
    snprintf(path, sizeof path, "/proc/%ld/environ", named);
    n = read_file(path, text, sizeof text);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(text + i) + 1)
      if (strncmp(text + i, "LD_PRELOAD=", 11) == 0) preload = 1;
    dprintf(2, "spy: PR_SET_PTRACER %ld by %d: parent %d, program %s, LD_PRELOAD %s\n", named, (int)getpid(), parent,
            exe, preload ? "set" : "unset");
  }
  return rc;
}

/* revert_keep_literal target: enter() runs once per SIGUSR1 and stores a pointer to
 * a string literal in the global `action` (nginx: c->log->action = "..."); every
 * 20 ms the loop prints the text `action` points to. SIGUSR2 splits a reserved
 * region into separate mappings until the process is 512 short of
 * vm.max_map_count (a program reverted and patched many times over), then prints
 * whether its own mmap still works. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *volatile action = "starting";
int entered;
static volatile sig_atomic_t pending, crowd;

static void on_usr1(int sig) {
  (void)sig;
  pending = 1;
}

static void on_usr2(int sig) {
  (void)sig;
  crowd = 1;
}

static long count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  long n = 0;
  int c;
  if (!f) return -1;
  while ((c = getc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

/* Every other page of a PROT_NONE region made readable: one mapping per page. */
static void fill_mappings(void) {
  long limit = 0, used = count_lines("/proc/self/maps");
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (!f || fscanf(f, "%ld", &limit) != 1) limit = 0;
  if (f) fclose(f);
  long pages = limit - 512 - used;
  if (pages < 2) pages = 2;
  long psz = sysconf(_SC_PAGESIZE);
  char *region = mmap(NULL, (size_t)(pages + 1) * psz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (region == MAP_FAILED) {
    printf("BAD cannot reserve %ld pages\n", pages);
    return;
  }
  for (long i = 1; i < pages; i += 2) mprotect(region + i * psz, (size_t)psz, PROT_READ);
  void *p = mmap(NULL, (size_t)psz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("crowded maps=%ld limit=%ld own_mmap=%s\n", count_lines("/proc/self/maps"), limit, p == MAP_FAILED ? "failed" : "ok");
}

__attribute__((noipa)) void enter(void) {
  entered += 1;
  action = "in the loop";
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGUSR1, on_usr1);
  signal(SIGUSR2, on_usr2);
  enter();
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    if (pending) {
      pending = 0;
      enter();
    }
    if (crowd) {
      crowd = 0;
      fill_mappings();
    }
    printf("action=%s len=%zu entered=%d\n", action, strlen(action), entered);
    usleep(20000);
  }
}

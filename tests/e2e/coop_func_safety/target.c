// Threads call two functions in tight loops and check every result; the control
// server (LD_PRELOAD) upgrades and rolls them back meanwhile. One more thread spins
// in spin() forever.
//   - entry() starts with short instructions (push %rbp; mov %rsp,%rbp), so the
//     5-byte jump covers instruction boundaries a thread can be stopped at;
//   - combine() keeps b and c in call-clobbered registers across its call to
//     scale(), because GCC's IPA-RA sees that scale() leaves them alone.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define THREADS 3

// x86_64 only, like every e2e case: 1-, 3-, 3-, 1-, 1-byte instructions.
__asm__(".text\n.globl entry\n.type entry, @function\nentry:\n"
        "  push %rbp\n  mov %rsp, %rbp\n  lea 1(%rdi), %eax\n  pop %rbp\n  ret\n.size entry, .-entry\n");
int entry(int x);
// Long enough for a jump; uses only eax and edi (the assertions below check the caller).
__attribute__((noinline)) int scale(int x) { return (x * 3) ^ (x >> 13); }
// noipa: callers must really call it (no constant folding of combine(2,5,7)); scale()
// stays visible to it, which is what IPA-RA needs.
__attribute__((noipa)) int combine(int a, int b, int c) {
  int s = scale(a);
  return s + b * c;
}

static volatile long calls[THREADS], wrong;

// Never returns (sleeping, so as not to eat a core): write-code guarding it must
// report it busy, from the return address into it on the thread's stack.
__attribute__((noinline)) void spin(void) {
  for (;;) {
    usleep(1000);
    __asm__ volatile("" ::: "memory");  // keeps the call a call, not a tail jump
  }
}
static void* spinner(void* arg) {
  (void)arg;
  spin();
  return NULL;
}

static void* worker(void* arg) {
  long i = (long)arg;
  for (;;) {
    int e = entry(41), c = combine(2, 5, 7);
    // entry: 42 old, 4100 new; combine: 6+35 old, 8+35 new (scale x4)
    if ((e != 42 && e != 4100) || (c != 41 && c != 43)) {
      __atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
      printf("WRONG entry=%d combine=%d\n", e, c);
      fflush(stdout);
    }
    calls[i]++;
  }
  return NULL;
}

int main(void) {
  pthread_t t[THREADS], s;
  pthread_create(&s, NULL, spinner, NULL);
  for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, worker, (void*)i);
  printf("ready pid=%d\n", getpid());
  fflush(stdout);
  for (;;) {
    long total = 0;
    for (int i = 0; i < THREADS; i++) total += calls[i];
    printf("entry(41)=%d combine(2,5,7)=%d calls=%ld wrong=%ld\n", entry(41), combine(2, 5, 7), total, wrong);
    fflush(stdout);
    usleep(20000);
  }
}

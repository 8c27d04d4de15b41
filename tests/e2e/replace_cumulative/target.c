/* replace_cumulative target: three functions answer their version (0 unpatched).
 * Four threads call them in tight loops and count the answers by version; the main
 * thread prints the counts every 50 ms. Cumulative patch 1 makes alpha and beta
 * answer 1; patch 2 (which replaces it) makes alpha and gamma answer 2 and leaves
 * beta unpatched. Any other answer is BAD. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
NOIPA int alpha(void) { volatile int v = 0; return v; }
NOIPA int beta(void) { volatile int v = 0; return v; }
NOIPA int gamma_(void) { volatile int v = 0; return v; }

static long counts[3][3]; /* [function][version] */

static void *caller(void *arg) {
  (void)arg;
  for (unsigned long i = 0;; i++) {
    int a = alpha(), b = beta(), g = gamma_();
    if (a < 0 || a > 2 || b < 0 || b > 1 || g < 0 || g > 2) {
      printf("BAD alpha=%d beta=%d gamma=%d\n", a, b, g);
      fflush(stdout);
      continue;
    }
    __atomic_add_fetch(&counts[0][a], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&counts[1][b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&counts[2][g], 1, __ATOMIC_RELAXED);
    if ((i & 1023) == 0) usleep(50);
  }
  return NULL;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, caller, NULL);
  printf("ready pid=%d\n", (int)getpid());
  for (;;) {
    usleep(50000);
    printf("now alpha=%d beta=%d gamma=%d counts alpha0=%ld alpha1=%ld alpha2=%ld beta0=%ld beta1=%ld gamma0=%ld gamma2=%ld\n",
           alpha(), beta(), gamma_(), counts[0][0], counts[0][1], counts[0][2], counts[1][0], counts[1][1], counts[2][0],
           counts[2][2]);
  }
}

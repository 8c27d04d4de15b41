/* pkg_ansible target: prints compute(7) every 20 ms (21 unpatched, 70 patched).
 * NONCE (a random string from the scenario) makes this build's build-id unique on
 * the machine, so selecting by build-id (hotpatch -p all) finds only this case's
 * processes. */
#include <stdio.h>
#include <unistd.h>

__attribute__((used)) static const char nonce[] = NONCE;

__attribute__((noipa)) int compute(int x) {
  volatile int factor = 3;
  return x * factor;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (;;) {
    int r = compute(7);
    if (r != 21 && r != 70) printf("BAD compute(7)=%d\n", r);
    printf("compute(7)=%d\n", r);
    usleep(20000);
  }
}

/* libsvc.so for ops_agent: the library an installed patch (HOTPATCH_OBJECT) is for. */
#ifndef NONCE
#error "build with -DNONCE='\"...\"'"
#endif
const char *volatile libsvc_nonce = NONCE;

__attribute__((noipa)) int scale(int x) {
  volatile int factor = 2;
  return x * factor;
}

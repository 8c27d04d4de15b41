/* A HOTPATCH_LINK_NEAR patch shaped like `hotpatch create` output: its code
 * reaches the target's private `counter` through a PC-relative lea whose
 * displacement the loader fills (a TARGET_RELOC record), and it calls libc
 * (strlen is an IFUNC, resolved in the target) through its own PLT. */
#include <string.h>

#include <hotpatch/patch.h>

HOTPATCH_ID("near-compute");
HOTPATCH_DESCRIPTION("link_near: compute multiplies by 5 and counts in thousands");
HOTPATCH_LINK_NEAR();

static inline int *target_counter(void) {
  int *p;
  __asm__("lea 0(%%rip), %0\n"
          "1:\n"
          ".pushsection .hotpatch,\"aw\",@progbits\n"
          ".balign 8\n"
          ".long 0x31525048\n" /* HOTPATCH_RECORD_MAGIC */
          ".short 1, 8\n"      /* format version, HOTPATCH_KIND_TARGET_RELOC */
          ".quad 2f\n"         /* name: the target's symbol */
          ".quad 1b - 4\n"     /* place: the lea's 32-bit displacement */
          ".long 2, -4\n"      /* R_X86_64_PC32, addend -4 */
          ".popsection\n"
          ".pushsection .rodata.hotpatch_names,\"a\",@progbits\n"
          "2: .asciz \"counter\"\n"
          ".popsection\n"
          : "=r"(p));
  return p;
}

static const char *volatile five = "five!";

int compute_near(int x) {
  *target_counter() += 1000;
  return x * (int)strlen(five);
}
HOTPATCH_REPLACE(compute, compute_near);

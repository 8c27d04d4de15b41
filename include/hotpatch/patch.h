/* <hotpatch/patch.h> — write a live patch by hand.
 *
 * A patch is an ordinary shared object (cc -shared -fPIC) that carries metadata
 * records in the ELF section ".hotpatch". The loader reads those records from the
 * file before it touches the target, so every record is plain data: a kind, a
 * string and (for code and refs) the address of something inside the patch.
 * docs/patch-format.md documents the layout; bump HOTPATCH_FORMAT_VERSION on any
 * incompatible change to struct hotpatch_record.
 *
 * Each record carries the version that introduced its kind: kinds 1-8 are written
 * as version 1, so a patch that uses nothing newer still reads with an older
 * hotpatch; callbacks and shadow ids (kinds 9-13) are version 2, which an older
 * hotpatch refuses ("unsupported patch format version 2") instead of half
 * understanding the patch. */
#ifndef HOTPATCH_PATCH_H
#define HOTPATCH_PATCH_H

#include <stdint.h>

#include <hotpatch/shadow.h>

#define HOTPATCH_SECTION ".hotpatch"
#define HOTPATCH_RECORD_MAGIC 0x31525048u /* "HPR1" little-endian */
#define HOTPATCH_FORMAT_VERSION 2 /* the newest record version; hotpatch reads 1 to this */

enum hotpatch_record_kind {
  HOTPATCH_KIND_REPLACE = 1,     /* name: target symbol, addr: replacement function */
  HOTPATCH_KIND_REF = 2,         /* name: target symbol, addr: pointer slot filled at apply */
  HOTPATCH_KIND_ID = 3,          /* name: patch id */
  HOTPATCH_KIND_DESCRIPTION = 4, /* name: free text */
  HOTPATCH_KIND_BUILD_ID = 5,    /* name: hex GNU build-id the target object must have */
  HOTPATCH_KIND_OBJECT = 6,      /* name: soname/basename of the object symbols are looked up in */
  HOTPATCH_KIND_LINK_NEAR = 7,   /* name: "near"; see HOTPATCH_LINK_NEAR */
  HOTPATCH_KIND_TARGET_RELOC = 8,/* name: target symbol, addr: place in the patch's code or data,
                                    reserved: relocation type | (uint32_t)addend << 32.
                                    Emitted by `hotpatch create`; needs HOTPATCH_LINK_NEAR. */
  /* Version 2 (docs/creator.md#callbacks): name: the function's name, addr: the function. */
  HOTPATCH_KIND_PRE_APPLY = 9,   /* int fn(void): before the stop; non-zero refuses the apply */
  HOTPATCH_KIND_POST_APPLY = 10, /* void fn(void): after the jumps are live and threads released */
  HOTPATCH_KIND_PRE_REVERT = 11, /* void fn(void): before the stop of a revert */
  HOTPATCH_KIND_POST_REVERT = 12,/* void fn(void): after the original code is back */
  HOTPATCH_KIND_SHADOW = 13,     /* name: the id as written, reserved: the shadow id (<hotpatch/shadow.h>) */
};

/* The record version a kind is written with (see the top of this file). */
#define HOTPATCH_RECORD_VERSION(kind) ((kind) >= HOTPATCH_KIND_PRE_APPLY ? 2 : 1)

struct hotpatch_record {
  uint32_t magic;   /* HOTPATCH_RECORD_MAGIC */
  uint16_t version; /* HOTPATCH_FORMAT_VERSION */
  uint16_t kind;    /* enum hotpatch_record_kind */
  const char *name;
  const void *addr;
  uint64_t reserved; /* 0; room for flags without changing the size */
};

/* `extern "C" { ... }` (the block form) so that C++ gets a definition, not a declaration. */
#ifdef __cplusplus
#define HOTPATCH_EXTERN_C_BEGIN extern "C" {
#define HOTPATCH_EXTERN_C_END }
#else
#define HOTPATCH_EXTERN_C_BEGIN
#define HOTPATCH_EXTERN_C_END
#endif

#define HOTPATCH_CAT_(a, b) a##b
#define HOTPATCH_CAT(a, b) HOTPATCH_CAT_(a, b)

#if defined(__has_attribute)
#if __has_attribute(retain)
#define HOTPATCH_RETAIN __attribute__((retain))
#endif
#endif
#ifndef HOTPATCH_RETAIN
#define HOTPATCH_RETAIN
#endif

/* One record per use; __COUNTER__ keeps names unique within a file. */
#define HOTPATCH_RECORD_WITH_(kind, name, addr, reserved)                             \
  __attribute__((used, section(HOTPATCH_SECTION), aligned(8))) HOTPATCH_RETAIN        \
  static const struct hotpatch_record HOTPATCH_CAT(hotpatch_record_, __COUNTER__) = { \
      HOTPATCH_RECORD_MAGIC, HOTPATCH_RECORD_VERSION(kind), (kind), (name), (const void *)(addr), (reserved)}
#define HOTPATCH_RECORD_(kind, name, addr) HOTPATCH_RECORD_WITH_(kind, name, addr, 0)

/* The target's symbol NAME (a C identifier) now runs FN. */
#define HOTPATCH_REPLACE(name, fn) HOTPATCH_RECORD_(HOTPATCH_KIND_REPLACE, #name, &(fn))
/* Any symbol name, e.g. a mangled C++ name. */
#define HOTPATCH_REPLACE_SYMBOL(symbol, fn) HOTPATCH_RECORD_(HOTPATCH_KIND_REPLACE, symbol, &(fn))

/* Declares `TYPE VAR`, filled at apply time with the address of the target's SYMBOL
 * (static or global, data or code). It is a hidden global, not a static, so the
 * compiler cannot assume it keeps its zero initial value. Do not use it from a
 * constructor of the patch: constructors run before the loader fills it. */
#define HOTPATCH_REF(type, var, symbol)                                     \
  HOTPATCH_EXTERN_C_BEGIN __attribute__((visibility("hidden"))) type var; HOTPATCH_EXTERN_C_END \
  HOTPATCH_RECORD_(HOTPATCH_KIND_REF, symbol, &(var))

#define HOTPATCH_ID(text) HOTPATCH_RECORD_(HOTPATCH_KIND_ID, text, 0)
#define HOTPATCH_DESCRIPTION(text) HOTPATCH_RECORD_(HOTPATCH_KIND_DESCRIPTION, text, 0)
#define HOTPATCH_BUILD_ID(hex) HOTPATCH_RECORD_(HOTPATCH_KIND_BUILD_ID, hex, 0)
#define HOTPATCH_OBJECT(soname) HOTPATCH_RECORD_(HOTPATCH_KIND_OBJECT, soname, 0)

/* The patch's code refers to the target's own symbols directly, as code compiled
 * into the target does (PC-relative, e.g. a `static` variable declared
 * `extern ... __attribute__((visibility("hidden")))` here). Such a patch is not
 * dlopen()ed: the loader maps it within ±2 GiB of the target object and resolves
 * its relocations itself (link with -Wl,-z,notext). No constructors, no TLS.
 * This is what `hotpatch create` emits. */
#define HOTPATCH_LINK_NEAR() HOTPATCH_RECORD_(HOTPATCH_KIND_LINK_NEAR, "near", 0)

/* Callbacks (docs/creator.md#callbacks), at most one of each per patch. Each runs
 * in the target on one borrowed thread while the program's other threads run
 * (never inside the stop, so it may take the program's locks), after every
 * HOTPATCH_REF is filled:
 *   HOTPATCH_PRE_APPLY(int fn(void))   before the stop; a non-zero return refuses
 *                                      the apply: nothing is changed, the patch is
 *                                      unloaded, `apply` exits 8 naming fn and the value;
 *   HOTPATCH_POST_APPLY(void fn(void)) after the jumps are live and every thread is
 *                                      released;
 *   HOTPATCH_PRE_REVERT(void fn(void)) before the stop of a revert (it cannot refuse:
 *                                      a revert is the way back and must stay open);
 *   HOTPATCH_POST_REVERT(void fn(void)) after the original code is back and no thread
 *                                      runs the patch's code, before its shadow
 *                                      variables are freed and it is unloaded.
 * A patch replaced by `apply --replace` runs none of its callbacks: the new patch's
 * pre-apply and post-apply do the hand-over. The type check below makes a callback
 * of the wrong type a compile error (C++) or a warning (C). */
#define HOTPATCH_CALLBACK_(kind, fn, type) HOTPATCH_RECORD_(kind, #fn, (1 ? &(fn) : (type)0))
#define HOTPATCH_PRE_APPLY(fn) HOTPATCH_CALLBACK_(HOTPATCH_KIND_PRE_APPLY, fn, int (*)(void))
#define HOTPATCH_POST_APPLY(fn) HOTPATCH_CALLBACK_(HOTPATCH_KIND_POST_APPLY, fn, void (*)(void))
#define HOTPATCH_PRE_REVERT(fn) HOTPATCH_CALLBACK_(HOTPATCH_KIND_PRE_REVERT, fn, void (*)(void))
#define HOTPATCH_POST_REVERT(fn) HOTPATCH_CALLBACK_(HOTPATCH_KIND_POST_REVERT, fn, void (*)(void))

/* This patch uses shadow variables of ID (a constant expression, any 64-bit value;
 * <hotpatch/shadow.h>). Allocating a shadow of an id that no applied patch declares
 * fails; reverting the last patch that declares it frees all its shadows. */
#define HOTPATCH_SHADOW_ID(id) HOTPATCH_RECORD_WITH_(HOTPATCH_KIND_SHADOW, #id, 0, (uint64_t)(id))

#endif /* HOTPATCH_PATCH_H */

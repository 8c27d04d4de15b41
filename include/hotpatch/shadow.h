/* <hotpatch/shadow.h> — shadow variables: new fields attached to objects that
 * already exist in a running process (what a struct change needs in a live patch).
 *
 * A running program keeps the layout of its structs: a patch cannot add a member to
 * `struct conn` for the connections that are already open. Instead it attaches a
 * shadow variable to each object: a zeroed block of `size` bytes, found again by the
 * object's address and a numeric id of the patch author's choosing.
 *
 *   #define CONN_RETRIES 0x636f6e6e01u   // any 64-bit number, one per kind of field
 *   HOTPATCH_SHADOW_ID(CONN_RETRIES);     // this patch owns shadows of that id
 *
 *   int *retries = hotpatch_shadow_get_or_alloc(c, CONN_RETRIES, sizeof(int), NULL, NULL);
 *
 * The functions live in the Core Runtime (libhotpatch.so), which hotpatch loads into
 * the process before any patch; a patch's undefined references to them resolve
 * there. docs/creator.md#shadow-variables has the rules and a worked example.
 *
 * Ownership. A patch declares the ids it uses with HOTPATCH_SHADOW_ID (<hotpatch/patch.h>).
 * An id is live while some applied patch declares it: allocating a shadow of an id
 * that no applied (or being-applied) patch declares fails with errno ENOENT. When
 * the last patch declaring an id is reverted, every shadow of that id is freed
 * (after that patch's post-revert callback). A cumulative patch that replaces an
 * older one (`apply --replace`) and declares the same ids keeps their shadows.
 *
 * Threads and signals. All functions are thread-safe. hotpatch_shadow_get is
 * lock-free and async-signal-safe. The others take a per-bucket lock with every
 * signal blocked and never call malloc (memory comes from mmap), so they are
 * async-signal-safe too, except for what a constructor or destructor you pass does.
 * Constructors and destructors run with no lock of the runtime held.
 *
 * The pointers returned stay valid until the shadow is freed (hotpatch_shadow_free,
 * hotpatch_shadow_free_all, or the revert of its last owner); freeing a shadow that
 * another thread still uses is the caller's race, as with free(). */
#ifndef HOTPATCH_SHADOW_H
#define HOTPATCH_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fills a new shadow (already zeroed) before anyone can see it. Non-zero: the
 * shadow is not attached and the allocation returns NULL (errno ECANCELED). */
typedef int (*hotpatch_shadow_ctor)(const void *obj, void *shadow, void *ctor_data);
/* Called for each shadow being freed, before its memory is released. */
typedef void (*hotpatch_shadow_dtor)(const void *obj, void *shadow);

/* A new zeroed shadow of `size` bytes (1 byte to 1 GiB, 16-byte aligned) for
 * (obj, id). NULL with errno: EEXIST (obj already has one of that id), ENOENT (no
 * applied patch declares id), EINVAL (size 0 or too large), ENOMEM. */
void *hotpatch_shadow_alloc(const void *obj, uint64_t id, size_t size);

/* The shadow of (obj, id), or NULL. Lock-free; async-signal-safe. */
void *hotpatch_shadow_get(const void *obj, uint64_t id);

/* The existing shadow of (obj, id), else a new one as hotpatch_shadow_alloc makes,
 * passed to `ctor` (may be NULL) before it is attached. When two threads race for
 * the same (obj, id), both get the one that was attached first (the loser's
 * constructed copy is dropped without its destructor: keep constructors free of
 * side effects beyond the shadow itself). A size different from the existing
 * shadow's is not checked. */
void *hotpatch_shadow_get_or_alloc(const void *obj, uint64_t id, size_t size, hotpatch_shadow_ctor ctor,
                                   void *ctor_data);

/* Detaches and frees the shadow of (obj, id), if any, calling `dtor` (may be NULL)
 * first. Call it where the program frees `obj`, or a later object allocated at the
 * same address finds the old shadow. */
void hotpatch_shadow_free(const void *obj, uint64_t id, hotpatch_shadow_dtor dtor);

/* Frees every shadow of `id` (any object), calling `dtor` (may be NULL) for each. */
void hotpatch_shadow_free_all(uint64_t id, hotpatch_shadow_dtor dtor);

/* How many shadows of `id` exist now (for tests and diagnostics). */
size_t hotpatch_shadow_count(uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATCH_SHADOW_H */

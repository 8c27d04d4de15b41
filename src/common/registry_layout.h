// The registry of applied patches lives inside the target, in the Core Runtime's
// memory (the exported object `hotpatch_registry`), so any later CLI call can list
// and revert what an earlier one applied. The loader reads and rewrites it through
// /proc/PID/mem while every thread is stopped; code inside the process (the control
// socket) takes `lock` before touching it, and the loader retries while it is held.
// Bump HOTPATCH_REGISTRY_LAYOUT_VERSION on any incompatible change to this struct or
// to the encoding in registry.cpp; a loader refuses a runtime of another version.
//
// A CLI may be SIGKILLed half way through writing (docs/design.md, "What survives a
// killed CLI"). A write of many bytes through /proc/PID/mem can stop between two
// pages, so a new encoding never overwrites the current one: it goes into the other
// half of `data`, and only then does one small write of the header (48 bytes, never
// across a page: the area is 64-byte aligned) publish it with `used` and `offset`.
#pragma once

#include <stdint.h>

#define HOTPATCH_REGISTRY_SYMBOL "hotpatch_registry"
// An int holding the thread id of the runtime's control-server thread once it runs
// (0 before). The Loader borrows that thread for its remote calls, so that none of
// the program's own threads is taken from its work.
#define HOTPATCH_CONTROL_THREAD_SYMBOL "hotpatch_control_thread"
#define HOTPATCH_REGISTRY_MAGIC "HPREG\0\0\1"
#define HOTPATCH_REGISTRY_LAYOUT_VERSION 2u
#define HOTPATCH_REGISTRY_CAPACITY (1u << 20)

struct hotpatch_registry_area {
  char magic[8];
  uint32_t layout_version;
  uint32_t lock;        /* 0: free; else the tid of an in-process writer */
  uint64_t generation;  /* bumped on every change */
  uint64_t capacity;    /* sizeof(data) */
  uint64_t used;        /* bytes of the current encoding */
  uint64_t offset;      /* where in data it starts: 0 or HOTPATCH_REGISTRY_HALF */
  uint8_t data[HOTPATCH_REGISTRY_CAPACITY];
} __attribute__((aligned(64)));

/* The largest encoding: each half of data holds one. */
#define HOTPATCH_REGISTRY_HALF (HOTPATCH_REGISTRY_CAPACITY / 2)

/* Offsets the loader relies on, checked at compile time in registry.cpp. */
#define HOTPATCH_REGISTRY_HEADER_SIZE 48u

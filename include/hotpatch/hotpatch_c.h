/* The cooperative runtime's C API (libhotpatch.so). See <hotpatch/hotpatch.h> for the
 * C++ API and docs/cooperative.md for the control socket and its commands.
 *
 * Every function returns 0 on success and a negative errno value on failure
 * (-EINVAL for a bad name, -EEXIST for a name registered twice, ...);
 * hotpatch_last_error() then says why in words. */
#ifndef HOTPATCH_HOTPATCH_C_H
#define HOTPATCH_HOTPATCH_C_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the control server (a thread listening on the process's control socket).
 * Idempotent: a second call returns 0 and does nothing. */
int hotpatch_init_server(void);
/* The socket path once the server runs, else NULL. */
const char* hotpatch_socket_path(void);
/* Why the last call of this thread failed. */
const char* hotpatch_last_error(void);

/* Register a variable: `var get/set NAME` then reads and writes *ptr. Plain
 * variables are written with one aligned store (no torn values); a program that
 * wants to see a change promptly should read them with an atomic or volatile load. */
int hotpatch_register_int32(const char* name, int32_t* ptr);
int hotpatch_register_int64(const char* name, int64_t* ptr);
int hotpatch_register_uint32(const char* name, uint32_t* ptr);
int hotpatch_register_uint64(const char* name, uint64_t* ptr);
int hotpatch_register_bool(const char* name, bool* ptr);
int hotpatch_register_float(const char* name, float* ptr);
int hotpatch_register_double(const char* name, double* ptr);
/* A NUL-terminated string buffer of `capacity` bytes; a longer value is refused. */
int hotpatch_register_cstring(const char* name, char* buffer, uint64_t capacity);

/* Register a function under a name `func upgrade/rollback` accept. */
int hotpatch_register_function(const char* name, void* function);

/* The lock `var set` holds while it changes a registered std::string or C string:
 * hold it while reading one from another thread. */
void hotpatch_var_lock(void);
void hotpatch_var_unlock(void);

#ifdef __cplusplus
}
#endif

#endif

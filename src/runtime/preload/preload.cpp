// libhotpatch_preload.so: `LD_PRELOAD=.../libhotpatch_preload.so ./server` starts the
// control server in a program that knows nothing of hotpatch. The constructor is the
// whole point of this library, which is why it is separate from libhotpatch.so
// (which the ptrace Loader injects, and which must do nothing when loaded).
#include <cstdio>

#include "hotpatch/hotpatch_c.h"

namespace {

__attribute__((constructor)) void start_control_server() {
  if (hotpatch_init_server() != 0) std::fprintf(stderr, "%s\n", hotpatch_last_error());
}

}  // namespace

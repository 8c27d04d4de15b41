// The Core Runtime: libhotpatch.so, inside the target. For the ptrace path it is
// the home of the registry of applied patches (registry_layout.h): the loader
// writes it while the process is stopped, so the record of what was applied, with
// the original bytes, outlives any CLI process. It must stay safe to load into any
// process: no constructors of ours (the statically linked libstdc++ brings its own:
// error categories and one malloc for its exception emergency pool), no locks, no
// threads at load time.
#include "common/registry_layout.h"

extern "C" {

// Zero-initialised (.bss, no file or memory cost until used): an all-zero header
// means "nothing applied yet"; the loader stamps magic and version on first write.
__attribute__((visibility("default"))) struct hotpatch_registry_area hotpatch_registry;

// Lets a loader check it found a runtime it can talk to, by calling it remotely.
__attribute__((visibility("default"))) unsigned hotpatch_runtime_layout_version(void) {
  return HOTPATCH_REGISTRY_LAYOUT_VERSION;
}
}

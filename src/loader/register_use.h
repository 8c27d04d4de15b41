// Which registers a redirect must keep intact for the callers of the function it
// replaces. GCC's IPA-RA lets a caller in the same object keep a value in a
// call-clobbered register across a call when it can see that the callee leaves it
// alone; a replacement that uses that register would corrupt the caller silently
// (seen on our first test target). docs/design.md, "Registers callers rely on".
#pragma once

#include <cstdint>

#include "arch/arch.h"
#include "common/remote_ptr.h"

namespace hotpatch {

class ElfImage;
class TargetObjects;

// Registers that callers of the old function may have kept live across the call
// (because it leaves them alone) and that the new function may change. Addresses
// are link-time addresses in each image; a new_size of 0 means "unknown code".
arch::RegisterSet registers_to_preserve(const ElfImage& old_image, uint64_t old_vaddr, uint64_t old_size,
                                        const ElfImage& new_image, uint64_t new_vaddr, uint64_t new_size);

// The same for two functions loaded in the target, found by their entry addresses in
// the symbol tables of their objects (read from the files, so a function whose entry
// we already redirected is analysed as it was built). An old function without a
// sized symbol gives the empty set (nothing is known about its callers), a new one
// counts as clobbering everything.
arch::RegisterSet registers_to_preserve(const TargetObjects& objects, RemoteAddr old_function, RemoteAddr new_function);

}  // namespace hotpatch

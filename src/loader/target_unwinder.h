// TargetUnwinder: the target process's C++/DWARF unwinder (libgcc's: libgcc_s.so.1,
// or linked into the program). The unwinder finds the unwind tables of objects the
// dynamic loader knows; a near-linked patch is not one of them, so its .eh_frame is
// registered with __register_frame when it is loaded and removed with
// __deregister_frame before it is unmapped.
#pragma once

#include <optional>
#include <string>

#include "common/remote_ptr.h"

namespace hotpatch {

class TargetObjects;

struct TargetUnwinder {
  RemoteAddr register_frame;
  RemoteAddr deregister_frame;
  std::string object;  // the file that has them

  // nullopt if the process has no unwinder loaded (a C program that never needed
  // libgcc_s), in which case nothing in it can unwind through any code anyway.
  static std::optional<TargetUnwinder> find(const TargetObjects& objects);
};

}  // namespace hotpatch

#include "loader/target_unwinder.h"

#include "loader/target_objects.h"

namespace hotpatch {

std::optional<TargetUnwinder> TargetUnwinder::find(const TargetObjects& objects) {
  // libgcc_s first: a C++ program that links libstdc++ dynamically unwinds with it.
  // Otherwise the program's own copy (-static-libgcc), found in its symbol table.
  for (const LoadedObject* o : {objects.find_object("libgcc_s.so.1"), objects.main_executable()}) {
    if (!o) continue;
    auto reg = objects.try_resolve("__register_frame", o, true);
    auto dereg = objects.try_resolve("__deregister_frame", o, true);
    if (reg && dereg) return TargetUnwinder{reg->address, dereg->address, o->path};
  }
  return std::nullopt;
}

}  // namespace hotpatch

// Small path helpers shared by the loader and the creator.
#pragma once

#include <string>

namespace hotpatch {

// "dir/file.c" -> "file.c"; a name without a slash is its own base name.
inline std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace hotpatch

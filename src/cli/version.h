// `hotpatch --version`: what this build is and which runtime it would load.
#pragma once

#include <string>

namespace hotpatch::cli {

// "hotpatch 0.1.0\ncommit 4d22038abcd1\nruntime /usr/lib/.../libhotpatch.so.0.1.0"
std::string version_text();

}  // namespace hotpatch::cli

#include <gtest/gtest.h>

#include "common/paths.h"

using namespace hotpatch;

TEST(Paths, RuntimeLibraryNames) {
  // What /proc/PID/maps shows (the file), the SONAME, the development link.
  EXPECT_TRUE(is_runtime_library_name("libhotpatch.so"));
  EXPECT_TRUE(is_runtime_library_name("libhotpatch.so.0"));
  EXPECT_TRUE(is_runtime_library_name("libhotpatch.so.0.1.0"));
  EXPECT_TRUE(is_runtime_library_name(HOTPATCH_RUNTIME_SONAME));
  // The preload library only starts the runtime; other names are not it.
  EXPECT_FALSE(is_runtime_library_name("libhotpatch_preload.so"));
  EXPECT_FALSE(is_runtime_library_name("libhotpatch.so.0.bak"));
  EXPECT_FALSE(is_runtime_library_name("libhotpatch.sox"));
  EXPECT_FALSE(is_runtime_library_name("libhotpatch"));
  EXPECT_FALSE(is_runtime_library_name("mylibhotpatch.so"));
}

TEST(Paths, DirectoryOf) {
  EXPECT_EQ(directory_of("/usr/bin/hotpatch"), "/usr/bin");
  EXPECT_EQ(directory_of("/hotpatch"), "/");
  EXPECT_EQ(directory_of("hotpatch"), ".");
}

// The installed CLI and runtime find each other through the relative paths the
// build was configured with: going from bindir to libdir and back lands where it
// started, whatever the libdir (lib, lib/x86_64-linux-gnu).
TEST(Paths, InstalledLayoutRoundTrip) {
  const std::string bindir = "/opt/hp/bin";
  auto runtimes = runtime_library_candidates(bindir);
  ASSERT_EQ(runtimes.size(), 2u);
  EXPECT_EQ(runtimes[0], bindir + "/" HOTPATCH_RUNTIME_SONAME);  // the build tree: side by side
  const std::string libdir = directory_of(runtimes[1]);
  EXPECT_EQ(libdir, bindir + "/" HOTPATCH_BINDIR_TO_LIBDIR);
  auto clis = cli_candidates(libdir);
  ASSERT_EQ(clis.size(), 2u);
  EXPECT_EQ(clis[0], libdir + "/hotpatch");
  // Normalise "/opt/hp/bin/../lib/x86_64-linux-gnu/../../bin/hotpatch".
  std::vector<std::string> parts;
  std::string path = clis[1];
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") {
      ASSERT_FALSE(parts.empty()) << path;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string normal;
  for (const auto& p : parts) normal += "/" + p;
  EXPECT_EQ(normal, bindir + "/hotpatch");
}

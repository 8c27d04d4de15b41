// PatchStore: the agent's patch directory (install, replace, remove, list, trust).
#include "agent/patch_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/error.h"
#include "elf_test_support.h"

namespace hotpatch::ops {
namespace {

using hotpatch::testing::fixture;
using hotpatch::testing::TempDir;

int exit_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.exit_code();
  }
  return 0;
}

TEST(PatchStore, InstallsUnderItsIdListsReplacesRemoves) {
  TempDir tmp;
  PatchStore store(tmp.path() + "/a/b/patches");  // created with its parents
  EXPECT_TRUE(store.patches().empty());
  EXPECT_EQ(store.version(), "");
  bool replaced = true;
  PatchFile p = store.install(fixture("patch_full"), replaced);
  EXPECT_FALSE(replaced);
  EXPECT_EQ(p.id, "fix-compute");
  EXPECT_EQ(p.path, tmp.path() + "/a/b/patches/fix-compute.so");
  EXPECT_EQ(p.build_id, "3f2a00112233445566778899aabbccddeeff0011");
  struct stat st;
  ASSERT_EQ(::stat(p.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  auto listed = store.patches();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, "fix-compute");
  std::string v1 = store.version();
  EXPECT_NE(v1, "");

  store.install(fixture("patch_full"), replaced);
  EXPECT_TRUE(replaced);
  EXPECT_EQ(store.patches().size(), 1u);
  // No temporary file is left next to it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(store.dir()), std::filesystem::directory_iterator()), 1);

  store.remove("fix-compute");
  EXPECT_TRUE(store.patches().empty());
  EXPECT_NE(store.version(), v1);
  EXPECT_EQ(exit_code_of([&] { store.remove("fix-compute"); }), 7);
  EXPECT_EQ(exit_code_of([&] { store.remove("../etc/passwd"); }), 2);
}

TEST(PatchStore, RefusesPatchesWithoutBuildIdAndFilesThatAreNotPatches) {
  TempDir tmp;
  PatchStore store(tmp.path() + "/patches");
  bool replaced = false;
  EXPECT_EQ(exit_code_of([&] { store.install(fixture("patch_minimal"), replaced); }), 4);  // no HOTPATCH_BUILD_ID
  EXPECT_EQ(exit_code_of([&] { store.install(fixture("not_a_patch"), replaced); }), 4);
  EXPECT_TRUE(store.patches().empty());
}

TEST(PatchStore, SkipsFilesThatDoNotHoldThePatchTheirNameSays) {
  TempDir tmp;
  PatchStore store(tmp.path() + "/patches");
  bool replaced = false;
  store.install(fixture("patch_full"), replaced);
  std::filesystem::copy_file(fixture("patch_full"), store.dir() + "/other.so");
  std::filesystem::permissions(store.dir() + "/other.so", std::filesystem::perms(0644));
  std::vector<std::string> problems;
  auto listed = store.patches(&problems);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, "fix-compute");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("holds patch 'fix-compute', not 'other'"), std::string::npos) << problems[0];
}

TEST(PatchStore, RefusesADirectoryOthersCanWrite) {
  TempDir tmp;
  PatchStore store(tmp.path() + "/patches");
  std::filesystem::create_directory(store.dir());
  ::chmod(store.dir().c_str(), 0777);
  EXPECT_EQ(exit_code_of([&] { store.check_trusted(); }), 4);
  bool replaced = false;
  EXPECT_EQ(exit_code_of([&] { store.install(fixture("patch_full"), replaced); }), 4);
  ::chmod(store.dir().c_str(), 0755);
  EXPECT_EQ(exit_code_of([&] { store.check_trusted(); }), 0);
}

}  // namespace
}  // namespace hotpatch::ops

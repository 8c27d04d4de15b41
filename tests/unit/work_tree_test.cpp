// WorkTree: putting the build tree back to the cache's snapshot (only what
// differs), the source state that keys the cache, one create per work directory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.h"
#include "creator/work_tree.h"

using namespace hotpatch::creator;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir() {
  std::string pattern = (fs::temp_directory_path() / "work_tree_test.XXXXXX").string();
  char* d = mkdtemp(pattern.data());
  return d ? fs::canonical(d).string() : "";
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(WorkTree, RestorePutsTheTreeBackExactly) {
  std::string dir = scratch_dir();
  ASSERT_FALSE(dir.empty());
  {
    WorkTree work(dir + "/src", dir + "/work");
    write(work.tree() + "/calc.c", "int x;\n");
    write(work.tree() + "/calc.o", "object");
    write(work.tree() + "/sub/keep.h", "#define K 1\n");
    write(work.tree() + "/gone/file.c", "removed later");
    write(work.tree() + "/readonly.h", "#define R 1\n");
    fs::permissions(work.tree() + "/readonly.h", fs::perms::owner_read | fs::perms::group_read);
    fs::create_symlink("calc.c", work.tree() + "/link.c");
    work.snapshot();
    const auto stamp = fs::last_write_time(work.base() + "/calc.o");

    // What a patched build does: changes, new files, deleted files, a file that
    // became a directory, a symlink pointing elsewhere.
    write(work.tree() + "/calc.c", "int x = 2;\n");
    write(work.tree() + "/calc.o", "other object, longer");
    write(work.tree() + "/new.o", "new");
    fs::remove(work.tree() + "/readonly.h");  // (as patch does: a new file in its place)
    write(work.tree() + "/readonly.h", "#define R 2\n");
    fs::permissions(work.tree() + "/readonly.h", fs::perms::owner_read);
    write(work.tree() + "/newdir/deep/x.o", "new");
    fs::remove_all(work.tree() + "/gone");
    fs::remove(work.tree() + "/sub/keep.h");
    fs::create_directories(work.tree() + "/sub/keep.h");
    fs::remove(work.tree() + "/link.c");
    fs::create_symlink("calc.o", work.tree() + "/link.c");

    work.restore();
    EXPECT_EQ(read(work.tree() + "/calc.c"), "int x;\n");
    EXPECT_EQ(read(work.tree() + "/calc.o"), "object");
    EXPECT_EQ(fs::last_write_time(work.tree() + "/calc.o"), stamp) << "make must see the old modification time";
    EXPECT_FALSE(fs::exists(work.tree() + "/new.o"));
    EXPECT_FALSE(fs::exists(work.tree() + "/newdir"));
    EXPECT_EQ(read(work.tree() + "/gone/file.c"), "removed later");
    EXPECT_EQ(read(work.tree() + "/sub/keep.h"), "#define K 1\n");
    EXPECT_EQ(read(work.tree() + "/readonly.h"), "#define R 1\n");
    EXPECT_EQ(fs::status(work.tree() + "/readonly.h").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::group_read);
    EXPECT_EQ(fs::read_symlink(work.tree() + "/link.c"), "calc.c");
  }
  fs::remove_all(dir);
}

TEST(WorkTree, OneCreateAtATimePerWorkDirectory) {
  std::string dir = scratch_dir();
  ASSERT_FALSE(dir.empty());
  {
    WorkTree first(dir + "/src", dir + "/work");
    EXPECT_THROW(WorkTree(dir + "/src", dir + "/work"), hotpatch::Error);
  }
  EXPECT_NO_THROW(WorkTree(dir + "/src", dir + "/work"));  // the first one is gone
  fs::remove_all(dir);
}

TEST(SourceState, ContentAndNamesOfSourcesAndBuildFilesOnly) {
  std::string dir = scratch_dir();
  ASSERT_FALSE(dir.empty());
  write(dir + "/calc.c", "int x;\n");
  write(dir + "/Makefile", "all:\n");
  write(dir + "/calc.o", "object");
  const std::string first = source_state(dir);
  write(dir + "/calc.o", "another object");
  write(dir + "/.git/HEAD", "ref");
  EXPECT_EQ(source_state(dir), first) << "objects and .git are not the source";
  fs::last_write_time(dir + "/calc.c", fs::file_time_type::clock::now());
  EXPECT_EQ(source_state(dir), first) << "a touch changes nothing";
  write(dir + "/calc.c", "int y;\n");
  EXPECT_NE(source_state(dir), first);
  write(dir + "/calc.c", "int x;\n");
  EXPECT_EQ(source_state(dir), first);
  write(dir + "/Makefile", "all: app\n");
  EXPECT_NE(source_state(dir), first) << "a build file is part of it";
  write(dir + "/Makefile", "all:\n");
  fs::create_symlink("calc.c", dir + "/link.c");
  EXPECT_NE(source_state(dir), first) << "a source's name, even a link's";
  fs::remove_all(dir);
}

// proc_scan: processes, programs by device and inode, mapped files, build-ids.
#include "agent/proc_scan.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>

#include "elf/elf_image.h"

namespace hotpatch::ops {
namespace {

TEST(ProcScan, ParsesMapsDevices) {
  EXPECT_EQ(parse_maps_device("fd:01"), makedev(0xfd, 0x01));
  EXPECT_EQ(parse_maps_device("103:1a"), makedev(0x103, 0x1a));
  EXPECT_FALSE(parse_maps_device("fd01"));
  EXPECT_FALSE(parse_maps_device(":01"));
  EXPECT_FALSE(parse_maps_device("fd:"));
  EXPECT_FALSE(parse_maps_device("fd:0x"));
}

TEST(ProcScan, FindsThisProgramByDeviceAndInode) {
  auto self = exe_id(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self, file_id("/proc/self/exe"));
  EXPECT_FALSE(file_id("/no/such/file"));
  auto all = all_processes();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::count(all.begin(), all.end(), ::getpid()), 0) << "all_processes leaves the caller out";
  EXPECT_EQ(std::count(all.begin(), all.end(), ::getppid()), 1);
  EXPECT_EQ(process_start_time(::getpid()), stat_field(::getpid(), kStatStartTime));
  EXPECT_GT(process_start_time(::getpid()), 0u);
  EXPECT_EQ(process_start_time(0x3fffff), 0u);
}

TEST(ProcScan, ListsMappedFilesOnceEachWithTheirBuildIds) {
  auto files = mapped_files(::getpid());
  auto libc = std::find_if(files.begin(), files.end(), [](const MappedFile& f) { return f.path.ends_with("/libc.so.6"); });
  ASSERT_NE(libc, files.end());
  EXPECT_EQ(std::count_if(files.begin(), files.end(), [&](const MappedFile& f) { return f.id == libc->id; }), 1);
  BuildIdCache ids;
  auto id = ids.of_mapped(::getpid(), *libc);
  ASSERT_TRUE(id);
  EXPECT_EQ(id, ElfImage::open(libc->path).build_id());
  EXPECT_EQ(ids.of_program(::getpid()), ElfImage::open("/proc/self/exe").build_id());
  auto needed = ids.needed_by_program(::getpid());
  EXPECT_NE(std::find(needed.begin(), needed.end(), "libc.so.6"), needed.end());
  EXPECT_FALSE(maps_runtime(::getpid()));  // the unit tests do not load libhotpatch.so
}

}  // namespace
}  // namespace hotpatch::ops

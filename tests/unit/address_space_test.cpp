#include <gtest/gtest.h>

#include "loader/address_space.h"

using namespace hotpatch;

namespace {
const char* kMaps =
    "555555554000-555555555000 r--p 00000000 fe:01 1234                       /usr/bin/target\n"
    "555555555000-555555556000 r-xp 00001000 fe:01 1234                       /usr/bin/target\n"
    "555555556000-555555558000 rw-p 00002000 fe:01 1234                       /usr/bin/target\n"
    "555555558000-555555579000 rw-p 00000000 00:00 0                          [heap]\n"
    "7ffff7d80000-7ffff7da8000 r--p 00000000 fe:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7ffff7da8000-7ffff7f3d000 r-xp 00028000 fe:01 99                         /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";
}

TEST(AddressSpace, ParsesMaps) {
  auto as = AddressSpace::parse(kMaps);
  ASSERT_EQ(as.mappings().size(), 7u);
  const Mapping* text = as.find(RemoteAddr(0x555555555123));
  ASSERT_NE(text, nullptr);
  EXPECT_TRUE(text->executable);
  EXPECT_FALSE(text->writable);
  EXPECT_EQ(text->offset, 0x1000u);
  EXPECT_EQ(text->path, "/usr/bin/target");
  EXPECT_TRUE(text->is_file());
  EXPECT_EQ(as.find(RemoteAddr(0x555555579000)), nullptr);  // end is exclusive
  const Mapping* heap = as.find(RemoteAddr(0x555555560000));
  ASSERT_NE(heap, nullptr);
  EXPECT_FALSE(heap->is_file());
}

TEST(AddressSpace, FreeRangeNearIsFreeAndInReach) {
  auto as = AddressSpace::parse(kMaps);
  RemoteAddr near(0x555555555100);
  int64_t reach = (int64_t{1} << 31) - 8192;
  auto where = as.free_range_near(near, 4096, reach);
  ASSERT_TRUE(where);
  EXPECT_EQ(where->value() % 4096, 0u);
  for (const auto& m : as.mappings()) {
    EXPECT_FALSE(m.range.contains(*where)) << m.path;
    EXPECT_FALSE(m.range.contains(*where + 4095)) << m.path;
  }
  int64_t distance = static_cast<int64_t>(where->value()) - static_cast<int64_t>(near.value());
  EXPECT_LT(std::abs(distance), reach);
  // Never in the gap right above the heap, where brk grows.
  EXPECT_FALSE(where->value() >= 0x555555579000 && where->value() < 0x7ffff7d80000);
}

TEST(AddressSpace, NoFreeRangeWhenEverythingIsMapped) {
  auto as = AddressSpace::parse("10000-7ffffffff000 rw-p 00000000 00:00 0\n");
  EXPECT_FALSE(as.free_range_near(RemoteAddr(0x20000), 4096, 1 << 30));
}

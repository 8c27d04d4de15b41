#include <gtest/gtest.h>

#include <cstring>

#include "common/error.h"
#include "elf/unwind_table.h"

using namespace hotpatch;

namespace {
// A CIE of `body` bytes after its id, then FDEs pointing back at it.
struct TableBuilder {
  std::vector<uint8_t> bytes;
  void u32(uint32_t v) {
    uint8_t b[4];
    std::memcpy(b, &v, 4);
    bytes.insert(bytes.end(), b, b + 4);
  }
  size_t cie(uint32_t body) {
    size_t at = bytes.size();
    u32(4 + body);
    u32(0);
    bytes.resize(bytes.size() + body, 0x11);
    return at;
  }
  size_t fde(size_t cie_at, uint32_t body) {
    size_t at = bytes.size();
    u32(4 + body);
    u32(static_cast<uint32_t>(at + 4 - cie_at));
    bytes.resize(bytes.size() + body, 0x22);
    return at;
  }
};
}  // namespace

TEST(UnwindTable, EntriesAndTheirCies) {
  TableBuilder t;
  size_t c1 = t.cie(12);
  size_t f1 = t.fde(c1, 20);
  size_t c2 = t.cie(8);
  size_t f2 = t.fde(c2, 16);
  size_t f3 = t.fde(c1, 16);
  t.u32(0);
  UnwindTable table = parse_unwind_table(t.bytes, "test");
  ASSERT_EQ(table.entries.size(), 5u);
  EXPECT_TRUE(table.terminated);
  EXPECT_EQ(table.fde_count(), 3u);
  EXPECT_TRUE(table.entries[0].is_cie);
  EXPECT_EQ(table.entries[1].offset, f1);
  EXPECT_EQ(table.entries[1].size, 28u);
  EXPECT_EQ(table.entries[1].cie_offset, c1);
  EXPECT_EQ(table.entries[3].offset, f2);
  EXPECT_EQ(table.entries[3].cie_offset, c2);
  EXPECT_EQ(table.entries[4].offset, f3);
  EXPECT_EQ(table.entries[4].cie_offset, c1);
}

TEST(UnwindTable, MissingTerminatorIsReported) {
  TableBuilder t;
  t.fde(t.cie(12), 20);
  UnwindTable table = parse_unwind_table(t.bytes, "test");
  EXPECT_FALSE(table.terminated);
  EXPECT_EQ(table.fde_count(), 1u);
}

TEST(UnwindTable, MalformedTablesAreErrorsNotReadsPastTheEnd) {
  TableBuilder overlong;
  overlong.u32(400);  // longer than the section
  overlong.u32(0);
  EXPECT_THROW(parse_unwind_table(overlong.bytes, "test"), Error);
  TableBuilder wide;
  wide.u32(0xffffffffu);  // 64-bit DWARF length
  wide.u32(0);
  EXPECT_THROW(parse_unwind_table(wide.bytes, "test"), Error);
  TableBuilder backwards;
  backwards.u32(12);
  backwards.u32(64);  // a CIE pointer before the section start
  backwards.u32(0);
  backwards.u32(0);
  EXPECT_THROW(parse_unwind_table(backwards.bytes, "test"), Error);
}

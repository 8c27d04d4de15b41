#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "arch/arch.h"
#include "creator/object_file.h"

using namespace hotpatch::creator;

TEST(ImmediateDifferences, OnlyImmediatesCount) {
  namespace arch = hotpatch::arch;
  // mov edx, 12 ; ret   vs   mov edx, 13 ; ret
  std::vector<uint8_t> a = {0xba, 0x0c, 0, 0, 0, 0xc3}, b = {0xba, 0x0d, 0, 0, 0, 0xc3};
  auto d = arch::immediate_differences(a, b);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0], std::make_pair(int64_t{12}, int64_t{13}));
  // mov edx, 12 ; ret   vs   mov ecx, 12 ; ret: a register changed, not an immediate.
  std::vector<uint8_t> c = {0xb9, 0x0c, 0, 0, 0, 0xc3};
  EXPECT_FALSE(arch::immediate_differences(a, c));
  // jmp +5 vs jmp +6: another destination, not another constant.
  std::vector<uint8_t> j5 = {0xeb, 0x05, 0xc3}, j6 = {0xeb, 0x06, 0xc3};
  EXPECT_FALSE(arch::immediate_differences(j5, j6));
  // Identical code: no differences at all.
  auto same = arch::immediate_differences(a, a);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
}

TEST(ObjectFile, MapsSectionOffsetsToTheirVariable) {
  char dir[] = "/tmp/hotpatch-objtest.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string src = std::string(dir) + "/t.c", obj = std::string(dir) + "/t.o";
  std::ofstream(src) << "static int a; static int b;\nvoid set(int x) { a = x; b = x + 1; }\nint get_b(void) { return b + a; }\n";
  ASSERT_EQ(std::system(("cc -O2 -c -o " + obj + " " + src).c_str()), 0);
  ObjectFile o = ObjectFile::read(obj);
  EXPECT_EQ(o.source_file(), "t.c");
  const ObjSymbol* get_b = o.find_defined("get_b", 2 /* STT_FUNC */);
  ASSERT_NE(get_b, nullptr);
  const ObjSymbol* a = o.find_defined("a", 1 /* STT_OBJECT */);
  const ObjSymbol* b = o.find_defined("b", 1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(o.symbol_covering(b->section, b->value), b);
  EXPECT_EQ(o.symbol_covering(a->section, a->value + 3), a);
  EXPECT_THROW(ObjectFile::read(src), std::exception);
  std::system(("rm -rf " + std::string(dir)).c_str());
}

TEST(BranchesLeaving, OnlyDirectBranchesOutOfTheCode) {
  namespace arch = hotpatch::arch;
  // call +0 (to 0x5, outside: the code ends there)... laid out as:
  //   0: e8 10 00 00 00   call 0x15      (outside)
  //   5: 74 02            je 0x9         (inside)
  //   7: eb 00            jmp 0x9        (inside)
  //   9: e9 00 01 00 00   jmp 0x10e      (outside)
  //   e: ff d0            call *%rax     (indirect: not a direct branch)
  //  10: c3               ret
  std::vector<uint8_t> code = {0xe8, 0x10, 0, 0, 0, 0x74, 0x02, 0xeb, 0x00, 0xe9, 0x00, 0x01, 0, 0, 0xff, 0xd0, 0xc3};
  auto out = arch::branches_leaving(code);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (std::vector<uint64_t>{1, 10}));
}

#include "creator/emit.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;
using hotpatch::testing::CreatorTest;

using EmitTest = CreatorTest;

// The patch is one assembly file: a call from one unit to a new function of
// another is a local call, the replaced function gets its REPLACE record, and the
// whole assembles.
TEST_F(EmitTest, OnePatchForManyUnits) {
  std::string prog = tmp_.file("prog");
  hotpatch::testing::write_text(prog + ".c", "int main(void) { return 0; }\nint f(int x) { return x; }\n");
  ASSERT_EQ(hotpatch::testing::run("cc -O0 -o " + prog + " " + prog + ".c"), 0);
  hotpatch::ElfImage binary = hotpatch::ElfImage::open(prog);
  Program p(&binary, {});
  add_unit(p, "a", "int f(int x) { return x; }\n", "int helper(int);\nint f(int x) { return helper(x) + 1; }\n");
  add_unit(p, "b", "int g(void) { return 2; }\n", "int g(void) { return 2; }\nint helper(int x) { return x * 7; }\n");
  auto [c, ch, plan] = analyse(p);
  std::string s = emit_assembly(p, c, plan, {"id", "", "", ""});
  EXPECT_NE(s.find("f.hotpatch:"), std::string::npos);
  EXPECT_NE(s.find("helper.hotpatch:"), std::string::npos);
  EXPECT_NE(s.find(".long helper.hotpatch + (-4) - ."), std::string::npos) << s;
  EXPECT_EQ(s.find(".asciz \"helper\""), std::string::npos) << "no record names the new function";
  hotpatch::testing::write_text(tmp_.file("p.s"), s);
  EXPECT_EQ(hotpatch::testing::run("cc -c -o " + tmp_.file("p.o") + " " + tmp_.file("p.s")), 0);
}

#include "creator/layout_check.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;

class LayoutCheckTest : public hotpatch::testing::CreatorTest {
 protected:
  std::vector<std::string> check(Program& p) {
    Analysis a = analyse(p);
    return check_type_layouts(p, a.correlation, a.plan);
  }
};

TEST_F(LayoutCheckTest, AFieldAddedToAStructTheCodeUsesIsRefused) {
  Program p(nullptr, {});
  add_unit(p, "conn",
           "struct conn { int fd; long bytes; };\nlong count(struct conn *c) { return c->bytes + c->fd; }\n",
           "struct conn { int fd; int flags; long extra; long bytes; };\n"
           "long count(struct conn *c) { return c->bytes + c->fd + c->flags; }\n",
           "-O2 -g");
  auto r = check(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rfind("count (conn.c): uses struct conn, whose layout the fix changes (size 16 -> 24 bytes; new field "
                       "'flags' at offset 4; new field 'extra' at offset 8", 0), 0u) << r[0];
  EXPECT_NE(r[0].find("docs/creator.md#shadow-variables"), std::string::npos);
}

// Reached through a typedef of an unnamed struct and a global variable.
TEST_F(LayoutCheckTest, ThroughATypedefAndAGlobal) {
  Program p(nullptr, {});
  add_unit(p, "cfg", "typedef struct { int a; int b; } cfg_t;\ncfg_t cfg;\nint get(void) { return cfg.b; }\n",
           "typedef struct { int a; long b; } cfg_t;\ncfg_t cfg;\nint get(void) { return cfg.b + 1; }\n", "-O2 -g");
  auto r = check(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("uses cfg_t, whose layout the fix changes (size 8 -> 16 bytes; field 'b' moved from offset 4 to "
                      "offset 8)"), std::string::npos) << r[0];
}

TEST_F(LayoutCheckTest, AnUnchangedLayoutIsFine) {
  Program p(nullptr, {});
  add_unit(p, "conn", "struct conn { int fd; long bytes; };\nlong count(struct conn *c) { return c->bytes; }\n",
           "struct conn { int fd; long bytes; };\nlong count(struct conn *c) { return c->bytes + c->fd; }\n", "-O2 -g");
  EXPECT_TRUE(check(p).empty());
}

#include "creator/run_pre.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;
using hotpatch::testing::CreatorTest;

class RunPreTest : public CreatorTest {
 protected:
  // The program built from `source` (plus a main) with `program_flags`, the unit
  // rebuilt with `tree_flags`; the refusals for redirecting `f`.
  std::vector<std::string> match(const std::string& source, const std::string& program_flags,
                                 const std::string& tree_flags) {
    std::string dir = tmp_.file("prog");
    std::filesystem::create_directories(dir);
    hotpatch::testing::write_text(dir + "/calc.c", source);
    hotpatch::testing::write_text(dir + "/main.c", "int f(int);\nint main(int c, char **v) { return f(c); }\n");
    EXPECT_EQ(hotpatch::testing::run("cd " + dir + " && cc " + program_flags + " -o app calc.c main.c"), 0);
    binary_ = std::make_unique<hotpatch::ElfImage>(hotpatch::ElfImage::open(dir + "/app"));
    Program p(binary_.get(), {});
    add_unit(p, "calc", source, source, tree_flags);
    Correlation c = correlate(p);
    Plan plan;
    plan.included.insert(sym(p, 0, "f"));
    return match_running_program(p, c, plan);
  }
  std::unique_ptr<hotpatch::ElfImage> binary_;
};

const char* kSource =
    "#include <string.h>\n#include <stdio.h>\nint g(int);\nstatic int counter;\n"
    "static const double k = 2.5;\n"
    "int f(int x) { if (x > 1000) return 0; counter++; printf(\"%d\\n\", (int)strlen(\"abc\") + x);\n"
    "  return g(x * 3 + 1) + (int)(k * x) + counter; }\n"
    "int g(int x) { return x * 2; }\n";

TEST_F(RunPreTest, TheSameBuildMatches) {
  auto r = match(kSource, "-O2 -g", "-O2 -g");
  EXPECT_TRUE(r.empty()) << r[0];
}

TEST_F(RunPreTest, OtherFlagsAreNamed) {
  auto r = match(kSource, "-O1 -g", "-O2 -g");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].rfind("f (calc.c): the rebuilt original does not match the running program", 0), 0u) << r[0];
  EXPECT_NE(r[0].find("the program's calc.c was built with '-O1', the rebuilt one with '-O2'"), std::string::npos) << r[0];
}

// A program without debug information: the function is still checked, the cause
// is told in general terms.
TEST_F(RunPreTest, WithoutDebugInformation) {
  auto r = match(kSource, "-O1", "-O2");
  ASSERT_FALSE(r.empty());
  EXPECT_NE(r[0].find("the tree is not the one the program was built from"), std::string::npos) << r[0];
}

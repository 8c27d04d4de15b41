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
    return match(source, program_flags, source, tree_flags);
  }
  // The program built from `program_source`, the tree's calc.c being `tree_source`.
  std::vector<std::string> match(const std::string& program_source, const std::string& program_flags,
                                 const std::string& source, const std::string& tree_flags) {
    std::string dir = tmp_.file("prog");
    std::filesystem::create_directories(dir);
    hotpatch::testing::write_text(dir + "/calc.c", program_source);
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

// Hand-made code: f (and g after it) in assembly with fixed bytes, the program's in
// one .text, the rebuilt ones in sections of their own, as GAS leaves them when it
// relaxed a branch long in the program's big .text and short alone (F4). `body` is
// f's code after its label .L0; .Lg is g's address.
std::string asm_unit(const std::string& f_section, const std::string& g_section, const std::string& body) {
  return "__asm__(\".section " + f_section + ",\\\"ax\\\",@progbits\\n.globl f\\n.type f,@function\\nf:\\n.L0:\\n" +
         body + ".size f,.-f\\n.section " + g_section + ",\\\"ax\\\",@progbits\\n.globl g\\n.type g,@function\\ng:\\n.Lg:\\n.byte 0x31,0xc0,0xc3\\n.size g,.-g\\n\");\n";
}
// xor eax,eax; .L1: inc eax; cmp eax,10; jne .Lend (crossing the branch under test,
// so its displacement differs by the difference in length); `branch`; .Lend: ret.
std::string loop_body(const std::string& branch) {
  return ".byte 0x31,0xc0\\n.L1:\\n.byte 0xff,0xc0,0x83,0xf8,0x0a\\n.byte 0x75,.Lend-(.+1)\\n" + branch +
         ".Lend:\\n.byte 0xc3\\n";
}
const char* kShortJmpL1 = ".byte 0xeb,.L1-(.+1)\\n";
const char* kLongJmpL1 = ".byte 0xe9\\n.long .L1-(.+4)\\n";

class RunPreBranchTest : public RunPreTest {
 protected:
  // The program's f has `program_branch`, the rebuilt one `rebuilt_branch`.
  std::vector<std::string> match_branches(const std::string& program_branch, const std::string& rebuilt_branch) {
    return match(asm_unit(".text", ".text", loop_body(program_branch)), "-g",
                 asm_unit(".text.f", ".text.g", loop_body(rebuilt_branch)), "-g");
  }
};

// The bug: `e9 rel32` in the program, `eb rel8` rebuilt, both to .L1; the jne
// before it reaches .Lend with another displacement in each.
TEST_F(RunPreBranchTest, ShortAndLongJmpToTheSameInstructionMatch) {
  auto r = match_branches(kLongJmpL1, kShortJmpL1);
  EXPECT_TRUE(r.empty()) << r[0];
}

TEST_F(RunPreBranchTest, ShortAndLongJccWithTheSameConditionMatch) {
  auto r = match_branches(".byte 0x0f,0x8c\\n.long .L1-(.+4)\\n", ".byte 0x7c,.L1-(.+1)\\n");  // jl
  EXPECT_TRUE(r.empty()) << r[0];
}

TEST_F(RunPreBranchTest, AnotherConditionIsRefused) {
  auto r = match_branches(".byte 0x0f,0x8d\\n.long .L1-(.+4)\\n", ".byte 0x7c,.L1-(.+1)\\n");  // jge vs jl
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("it is 16 bytes in the program, 12 rebuilt; instruction 4 (+0x9 rebuilt, +0x9 in the program) "
                      "is another instruction"), std::string::npos) << r[0];
}

TEST_F(RunPreBranchTest, AJumpToAnotherInstructionIsRefused) {
  auto r = match_branches(".byte 0xe9\\n.long .L0-(.+4)\\n", kShortJmpL1);  // to xor eax,eax instead
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("the branch of instruction 4 (+0x9 rebuilt) reaches another instruction"), std::string::npos)
      << r[0];
}

// Of the same length, a jump to another instruction is refused too (the fast path
// fails on the byte, the instruction walk on the destination).
TEST_F(RunPreBranchTest, ASameLengthJumpToAnotherInstructionIsRefused) {
  auto r = match_branches(".byte 0xeb,.L0-(.+1)\\n", kShortJmpL1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("the code differs at +0xa"), std::string::npos) << r[0];
}

TEST_F(RunPreBranchTest, AnExtraInstructionIsRefused) {
  auto r = match_branches(std::string(".byte 0xff,0xc0\\n") + kLongJmpL1, kShortJmpL1);  // inc eax
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("it is 17 bytes in the program, 12 rebuilt; instruction 4 (+0x9 rebuilt, +0x9 in the program) "
                      "is another instruction"), std::string::npos) << r[0];
}

// Alignment padding does nothing: a nop of another length (or one more) where the
// branches' lengths moved what follows is not a difference.
TEST_F(RunPreBranchTest, ExtraPaddingMatches) {
  auto r = match_branches(std::string(".byte 0x66,0x90\\n") + kLongJmpL1, kShortJmpL1);  // xchg %ax,%ax
  EXPECT_TRUE(r.empty()) << r[0];
}

// A jump out of the function: relocated rebuilt (jmp g, rel32), resolved short in
// the program's section; the destination must be the same function.
TEST_F(RunPreBranchTest, AShortJumpOutOfTheFunctionToTheSameTargetMatches) {
  auto r = match_branches(".byte 0xeb,.Lg-(.+1)\\n", "jmp g\\n");
  EXPECT_TRUE(r.empty()) << r[0];
}

TEST_F(RunPreBranchTest, AShortJumpOutOfTheFunctionElsewhereIsRefused) {
  auto r = match_branches(".byte 0xeb,.Lg+1-(.+1)\\n", "jmp g\\n");  // into g's middle
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("it refers to 'g', but the program's code reaches another address"), std::string::npos) << r[0];
}

// The likely cause does not blame the flags when they differ only in ours
// (-ffunction-sections -fdata-sections): not "built with '' vs ''".
TEST_F(RunPreTest, OurOwnSectionFlagsAreNotTheCause) {
  std::string program = kSource;
  program.replace(program.find("x * 3 + 1"), 9, "x * 5 + 1");  // another tree, the same flags
  auto r = match(program, "-O2 -g", kSource, "-O2 -g");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].find("built with ''"), std::string::npos) << r[0];
  EXPECT_NE(r[0].find("the program's calc.c was built with the same recorded compiler flags (apart from the "
                      "Creator's own -ffunction-sections -fdata-sections); the tree is not the one"),
            std::string::npos) << r[0];
}

#include "creator/compare.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;
using hotpatch::testing::CreatorTest;

using CompareTest = CreatorTest;

TEST_F(CompareTest, FindsChangedAddedAndConstants) {
  Program p(nullptr, {});
  add_unit(p, "calc",
           "const int table[4] = {1, 2, 3, 4};\nint limit = 10;\n"
           "int same(int x) { return x * 3; }\nint differs(int x) { return x + 1; }\n"
           "int reads(int i) { return table[i]; }\n",
           "const int table[4] = {1, 2, 3, 5};\nint limit = 11;\n"
           "int same(int x) { return x * 3; }\nint differs(int x) { return x + 2; }\n"
           "int reads(int i) { return table[i]; }\nint fresh(int x) { return x; }\n");
  Correlation c = correlate(p);
  Changes ch = compare(p, c);
  EXPECT_EQ(ch.changed, (std::set<SymRef>{sym(p, 0, "differs")}));
  EXPECT_EQ(ch.added, (std::set<SymRef>{sym(p, 0, "fresh")}));
  EXPECT_EQ(ch.changed_constants, (std::set<SymRef>{sym(p, 0, "table")}));
  ASSERT_EQ(ch.changed_data.size(), 1u);
  EXPECT_EQ(ch.changed_data[0].first, sym(p, 0, "limit"));
  EXPECT_EQ(ch.changed_data[0].second, "its initial value changed");
}

// A function that now uses another function's static (same name, another number)
// has changed, even though its bytes are the same.
TEST_F(CompareTest, AReferenceToAnotherStaticIsAChange) {
  Program p(nullptr, {});
  std::string common = "static int a; static int b;\nvoid set(int x) { a = x; b = x; }\nint sum(void) { return a + b; }\n";
  add_unit(p, "calc", common + "int get(void) { return a; }\n", common + "int get(void) { return b; }\n");
  Correlation c = correlate(p);
  Changes ch = compare(p, c);
  EXPECT_EQ(ch.changed, (std::set<SymRef>{sym(p, 0, "get")}));
}

TEST_F(CompareTest, StringLiteralsByText) {
  Program p(nullptr, {});
  add_unit(p, "calc", "const char *a(void) { return \"one\"; }\nconst char *b(void) { return \"two\"; }\n",
           "const char *a(void) { return \"one\"; }\nconst char *b(void) { return \"TWO\"; }\n");
  Changes ch = compare(p, correlate(p));
  EXPECT_EQ(ch.changed, (std::set<SymRef>{sym(p, 0, "b")}));
}

TEST_F(CompareTest, DifferingSymbolsOfTwoBuildsOfOneSource) {
  auto a = compile("one", "v", "const char *when(void) { return \"12:00\"; }\nint same(void) { return 1; }\n");
  auto b = compile("two", "v", "const char *when(void) { return \"12:01\"; }\nint same(void) { return 1; }\n");
  EXPECT_EQ(differing_symbols(a, b), (std::vector<std::string>{"when"}));
  EXPECT_TRUE(differing_symbols(a, a).empty());
}

// __LINE__: below an added #include every assert's line moves by one. A function
// that differs only in that is line noise; one whose own line the diff changes is
// changed, even when its new constant happens to equal a moved line number.
TEST_F(CompareTest, LineNoiseOnlyWhenTheFunctionsLinesAreUntouched) {
  std::string before =
      "#include <assert.h>\n"                       // 1
      "int over(int x) {\n"                         // 2
      "  return x > 6;\n"                           // 3
      "}\n"                                         // 4
      "int checked(int x) {\n"                      // 5
      "  assert(x < 1000000);\n"                    // 6
      "  return x + 1;\n"                           // 7
      "}\n";
  std::string after =
      "#include <assert.h>\n"
      "#include <string.h>\n"
      "int over(int x) {\n"
      "  return x > 7;\n"
      "}\n"
      "int checked(int x) {\n"
      "  assert(x < 1000000);\n"
      "  return x + 1;\n"
      "}\n";
  const char* diff =
      "--- a/calc.c\n+++ b/calc.c\n@@ -1,4 +1,5 @@\n #include <assert.h>\n+#include <string.h>\n int over(int x) {\n"
      "-  return x > 6;\n+  return x > 7;\n }\n";
  Program p(nullptr, parse_line_moves(diff));
  add_unit(p, "calc", before, after, "-O2 -g");
  Changes ch = compare(p, correlate(p));
  EXPECT_EQ(ch.changed, (std::set<SymRef>{sym(p, 0, "over")}));
  EXPECT_EQ(ch.line_noise, (std::vector<SymRef>{sym(p, 0, "checked")}));
}

// Without a line table nothing can be told: a differing function is changed.
TEST_F(CompareTest, NoLineTableNoLineNoise) {
  std::string before = "#include <assert.h>\nint checked(int x) {\n  assert(x < 1000000);\n  return x + 1;\n}\n";
  std::string after = "#include <assert.h>\n\nint checked(int x) {\n  assert(x < 1000000);\n  return x + 1;\n}\n";
  Program p(nullptr, parse_line_moves("--- a/calc.c\n+++ b/calc.c\n@@ -1,2 +1,3 @@\n #include <assert.h>\n+\n int\n"));
  add_unit(p, "calc", before, after, "-O2");
  Changes ch = compare(p, correlate(p));
  EXPECT_EQ(ch.changed, (std::set<SymRef>{sym(p, 0, "checked")}));
  EXPECT_TRUE(ch.line_noise.empty());
}

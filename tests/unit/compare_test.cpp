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

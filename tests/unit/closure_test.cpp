#include "creator/closure.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;
using hotpatch::testing::CreatorTest;

using ClosureTest = CreatorTest;

// One patch, many files: a new function and a new variable defined in one changed
// file and used from another are carried in the patch.
TEST_F(ClosureTest, NewFunctionsAndDataOfOtherUnits) {
  Program p(nullptr, {});
  add_unit(p, "a", "int f(int x) { return x; }\n",
           "extern int counter; int helper(int);\nint f(int x) { counter++; return helper(x); }\n");
  add_unit(p, "b", "int g(void) { return 2; }\n",
           "int g(void) { return 2; }\nint counter = 5;\nint helper(int x) { return x + counter; }\n");
  auto [c, ch, plan] = analyse(p);
  EXPECT_EQ(plan.redirected, (std::set<SymRef>{sym(p, 0, "f")}));
  EXPECT_EQ(plan.included, (std::set<SymRef>{sym(p, 0, "f"), sym(p, 1, "helper")}));
  EXPECT_EQ(plan.carried_data, (std::set<SymRef>{sym(p, 1, "counter")}));
}

// A changed constant: every function that reads it is redirected to read the copy.
TEST_F(ClosureTest, ReadersOfAChangedConstant) {
  Program p(nullptr, {});
  add_unit(p, "a", "static const int t[3] = {1, 2, 3};\nint r1(int i) { return t[i]; }\nint r2(int i) { return t[i] * 2; }\n",
           "static const int t[3] = {1, 2, 4};\nint r1(int i) { return t[i]; }\nint r2(int i) { return t[i] * 2; }\n");
  auto [c, ch, plan] = analyse(p);
  EXPECT_EQ(plan.redirected, (std::set<SymRef>{sym(p, 0, "r1"), sym(p, 0, "r2")}));
  EXPECT_EQ(plan.carried_data, (std::set<SymRef>{sym(p, 0, "t")}));
}

TEST_F(ClosureTest, StartupCodeIsSetAside) {
  Program p(nullptr, {});
  add_unit(p, "m", "int main(void) { return 1; }\n", "int main(void) { return 2; }\n");
  auto [c, ch, plan] = analyse(p);
  EXPECT_TRUE(plan.included.empty());
  EXPECT_EQ(plan.startup, (std::set<SymRef>{sym(p, 0, "main")}));
}

// A changed global constant read from a file the fix did not change: that file's
// readers are switched too (its object is read only now); a pointer to the table
// in data is found, for verify() to refuse.
TEST_F(ClosureTest, ReadersOfAChangedConstantInOtherFiles) {
  Program p(nullptr, {});
  add_unit(p, "table", "const int rates[4] = {1, 2, 3, 4};\nint rate_a(int i) { return rates[i]; }\n",
           "const int rates[4] = {1, 2, 3, 40};\nint rate_a(int i) { return rates[i]; }\n");
  auto other = compile("orig", "other",
                       "extern const int rates[4];\nint rate_b(int i) { return rates[i] * 10; }\n"
                       "const int *const rate_table = rates;\n");
  p.unchanged_paths.emplace_back("other.o", other.path());
  auto [c, ch, plan] = analyse(p);
  ASSERT_EQ(p.units.size(), 2u);
  EXPECT_EQ(plan.redirected, (std::set<SymRef>{sym(p, 0, "rate_a"), sym(p, 1, "rate_b")}));
  EXPECT_EQ(plan.why.at(sym(p, 1, "rate_b")), "reads the changed constant 'rates'");
  ASSERT_EQ(plan.constants_pointed_to.size(), 1u);
  EXPECT_EQ(plan.constants_pointed_to[0].from, sym(p, 1, "rate_table"));
}

#include "creator/correlate.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;
using hotpatch::testing::CreatorTest;

using CorrelateTest = CreatorTest;

// GCC numbers function-local statics from the last definition in the file: a fix
// that adds g() with its own `static int n` renumbers f's and h's. Each must stay
// tied to its own function's original.
TEST_F(CorrelateTest, FunctionLocalStaticsByTheFunctionThatUsesThem) {
  Program p(nullptr, {});
  add_unit(p, "calc",
           "int f(void) { static int n; return ++n; }\n"
           "int h(void) { static int n; return n += 2; }\n",
           "int f(void) { static int n; return ++n; }\n"
           "int h(void) { static int n; return n += 2; }\n"
           "int g(void) { static int n; return n += 3; }\n");
  Correlation c = correlate(p);
  const Unit& u = p.unit(0);
  ASSERT_NE(u.orig.find_defined("n.1", 1), nullptr) << "GCC numbering changed; this test relies on it";
  auto static_of = [&](const ObjectFile& obj, const char* fn) {
    auto refs = objects_referenced_by(obj, *obj.find_defined(fn, 2));
    EXPECT_EQ(refs.size(), 1u);
    return refs.empty() ? std::string() : obj.symbols()[refs[0]].name;
  };
  for (const char* fn : {"f", "h"}) {
    std::string patched = static_of(u.patched, fn), orig = static_of(u.orig, fn);
    EXPECT_NE(patched, orig) << "the fix should have renumbered " << fn << "'s static";
    EXPECT_EQ(orig_name(p, c.twin[0], 0, patched), orig) << fn << "'s static";
  }
  // g's is new.
  EXPECT_EQ(orig_name(p, c.twin[0], 0, static_of(u.patched, "g")), "");
  EXPECT_TRUE(c.ambiguous[0].empty());
}

// Two statics of one name in one function (nested blocks) cannot be told apart
// once their numbers change: ambiguous, never guessed.
TEST_F(CorrelateTest, TwoStaticsOfOneNameInOneFunctionAreAmbiguous) {
  Program p(nullptr, {});
  std::string f = "int f(int x) { if (x) { static int n; return ++n; } else { static int n; return --n; } }\n";
  add_unit(p, "calc", f, f + "int g(void) { static int n; return n += 3; }\n");
  Correlation c = correlate(p);
  EXPECT_EQ(c.ambiguous[0].size(), 2u);
}

TEST_F(CorrelateTest, FunctionsAndGlobalsByNameAcrossUnits) {
  Program p(nullptr, {});
  add_unit(p, "a", "int shared = 1; int f(void) { return shared; }\n",
           "int shared = 1; int added(int); int f(void) { return added(shared); }\n");
  add_unit(p, "b", "int g(void) { return 2; }\n", "int g(void) { return 2; }\nint added(int x) { return x + 1; }\n");
  Correlation c = correlate(p);
  EXPECT_EQ(orig_name(p, c.twin[0], 0, "f"), "f");
  EXPECT_EQ(orig_name(p, c.twin[0], 0, "shared"), "shared");
  EXPECT_TRUE(c.is_new(sym(p, 1, "added")));
  ASSERT_TRUE(c.globals.count("added"));
  EXPECT_EQ(c.globals.at("added"), sym(p, 1, "added"));
  EXPECT_EQ(c.binary_name(p, sym(p, 0, "f")), "f");
}

#include "creator/verify.h"

#include "creator_test_support.h"

using namespace hotpatch::creator;

class VerifyTest : public hotpatch::testing::CreatorTest {
 protected:
  std::vector<std::string> refusals(Program& p) {
    Analysis a = analyse(p);
    return verify(p, a.correlation, a.changes, a.plan);
  }
};

TEST_F(VerifyTest, ChangedDataIsRefusedByName) {
  Program p(nullptr, {});
  add_unit(p, "calc", "int limit = 10;\nlong size;\nint f(void) { return limit; }\n",
           "int limit = 11;\nint size;\nint f(void) { return limit; }\n");
  auto r = refusals(p);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].rfind("limit (calc.c): its initial value changed", 0), 0u) << r[0];
  EXPECT_EQ(r[1].rfind("size (calc.c): its size changed from 8 to 4 bytes", 0), 0u) << r[1];
}

TEST_F(VerifyTest, AnAmbiguousStaticThatThePatchUsesIsRefused) {
  Program p(nullptr, {});
  std::string f = "int f(int x) { if (x) { static int n; return ++n; } else { static int n; return --n; } }\n";
  add_unit(p, "calc", f, "int f(int x) { if (x > 1) { static int n; return ++n; } else { static int n; return --n; } }\n"
                         "int g(void) { static int n; return n += 3; }\n");
  auto r = refusals(p);
  ASSERT_FALSE(r.empty());
  EXPECT_NE(r[0].find("f (calc.c): uses the function-local static 'n."), std::string::npos) << r[0];
}

TEST_F(VerifyTest, ThreadLocalStorageIsRefused) {
  Program p(nullptr, {});
  add_unit(p, "calc", "__thread int t; int f(void) { return t; }\n", "__thread int t; int f(void) { return t + 1; }\n");
  auto r = refusals(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("uses thread-local storage ('t')"), std::string::npos) << r[0];
}

TEST_F(VerifyTest, ANewConstructorIsRefusedNotDropped) {
  Program p(nullptr, {});
  add_unit(p, "calc", "static int ready;\nint f(void) { return ready; }\n",
           "static int ready;\n__attribute__((constructor)) static void init_ready(void) { ready = 7; }\n"
           "int f(void) { return ready + 1; }\n");
  auto r = refusals(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rfind("init_ready (calc.c): a new constructor", 0), 0u) << r[0];
}

// A new C++ global with a dynamic initialiser changes the file's one initialiser,
// which would re-run the initialisers of the existing globals too.
TEST_F(VerifyTest, ACppInitialiserThatWouldRerunExistingOnesIsRefused) {
  Program p(nullptr, {});
  std::string common = "#include <string>\nstd::string existing(\"a\");\n";
  add_unit(p, "calc.cpp", common + "int f() { return existing.size(); }\n",
           common + "std::string added(\"bb\");\nint f() { return existing.size() + added.size(); }\n");
  auto r = refusals(p);
  ASSERT_FALSE(r.empty());
  EXPECT_NE(r[0].find("the C++ dynamic initialiser of calc.cpp changed: running it would also re-run the initialisers "
                      "of existing globals (existing[abi:cxx11])"), std::string::npos) << r[0];
}

TEST_F(VerifyTest, AChangedConstantThatDataPointsToIsRefused) {
  Program p(nullptr, {});
  add_unit(p, "calc",
           "static const int t[3] = {1, 2, 3};\nconst int *current = t;\nint r(int i) { return current[i] + t[i]; }\n",
           "static const int t[3] = {1, 2, 4};\nconst int *current = t;\nint r(int i) { return current[i] + t[i]; }\n");
  auto r = refusals(p);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rfind("t (calc.c): a changed constant whose address is stored in current (calc.c)", 0), 0u) << r[0];
}

// An object built without -ffunction-sections: a call to a static function next
// to the changed one was resolved by the assembler, and a copy would call garbage.
TEST_F(VerifyTest, ACallWithoutRelocationIsRefused) {
  Program p(nullptr, {});
  std::string helper = "__attribute__((noinline)) static int helper(int x) { return x * 7 + 1; }\n";
  auto u = std::make_unique<Unit>("calc.o", compile("orig", "calc", helper + "int f(int x) { return helper(x) + 1; }\n",
                                                    "-O2 -fno-function-sections"),
                                  compile("patched", "calc", helper + "int f(int x) { return helper(x) + 2; }\n",
                                          "-O2 -fno-function-sections"));
  p.units.push_back(std::move(u));
  auto r = refusals(p);
  ASSERT_FALSE(r.empty());
  EXPECT_NE(r[0].find("f (calc.c): it calls or jumps out of itself at +0x"), std::string::npos) << r[0];
}

#include "creator/diff_hunks.h"

#include <gtest/gtest.h>

using namespace hotpatch::creator;

// A hunk given without its body (as a tool may print it) counts as changed whole.
TEST(LineMoves, HeadersWithoutBodiesCountWhole) {
  const char* diff =
      "--- a/src/calc.c\t2026-01-01\n"
      "+++ b/src/calc.c\t2026-01-01\n"
      "@@ -3,7 +3,9 @@ int compute(int x) {\n"
      "@@ -40 +42,2 @@\n"
      "diff other.c\n"
      "+++ b/other.c\n"
      "@@ -10,2 +10 @@\n";
  LineMoves moves = parse_line_moves(diff);
  ASSERT_EQ(moves.count("calc.c"), 1u);
  ASSERT_EQ(moves["calc.c"].size(), 2u);
  EXPECT_EQ(moves["calc.c"][0].old_start, 3);
  EXPECT_EQ(moves["calc.c"][0].old_length, 7);
  EXPECT_EQ(moves["calc.c"][0].new_length, 9);
  EXPECT_EQ(moves["calc.c"][1].old_start, 40);
  EXPECT_EQ(moves["calc.c"][1].old_length, 1);
  EXPECT_EQ(moves["calc.c"][1].new_length, 2);
  ASSERT_EQ(moves["other.c"].size(), 1u);
  EXPECT_EQ(moves["other.c"][0].old_length, 2);
  EXPECT_EQ(moves["other.c"][0].new_length, 1);
}

// Context lines are not changes: only the blocks of - and + lines count.
TEST(LineMoves, BodiesGiveTheChangedBlocksOnly) {
  const char* diff =
      "--- a/calc.c\n"
      "+++ b/calc.c\n"
      "@@ -1,4 +1,5 @@\n"
      " #include <stdio.h>\n"
      "+#include <string.h>\n"
      " \n"
      " int a;\n"
      " int b;\n"
      "@@ -20,7 +21,7 @@ int f(int x) {\n"
      " one\n"
      " two\n"
      " three\n"
      "-  return x > 15;\n"
      "+  return x > 16;\n"
      " four\n"
      " five\n"
      " six\n";
  LineMoves moves = parse_line_moves(diff);
  ASSERT_EQ(moves["calc.c"].size(), 2u);
  // The insertion goes after old line 1.
  EXPECT_EQ(moves["calc.c"][0].old_start, 1);
  EXPECT_EQ(moves["calc.c"][0].old_length, 0);
  EXPECT_EQ(moves["calc.c"][0].new_length, 1);
  // Old line 23 became new line 24.
  EXPECT_EQ(moves["calc.c"][1].old_start, 23);
  EXPECT_EQ(moves["calc.c"][1].old_length, 1);
  EXPECT_EQ(moves["calc.c"][1].new_length, 1);

  const auto& h = moves["calc.c"];
  EXPECT_EQ(moved_line(h, 1), 1);   // above the insertion
  EXPECT_EQ(moved_line(h, 2), 3);   // below it
  EXPECT_EQ(moved_line(h, 22), 23); // context of the second hunk: moved, not changed
  EXPECT_EQ(moved_line(h, 23), std::nullopt);  // the changed line
  EXPECT_EQ(moved_line(h, 24), 25);
}

TEST(LineMoves, RemovedLinesMoveTheRestUp) {
  const char* diff =
      "--- a/x.c\n+++ b/x.c\n@@ -5,4 +5,2 @@\n ctx\n-gone1\n-gone2\n ctx\n";
  LineMoves moves = parse_line_moves(diff);
  ASSERT_EQ(moves["x.c"].size(), 1u);
  EXPECT_EQ(moved_line(moves["x.c"], 5), 5);
  EXPECT_EQ(moved_line(moves["x.c"], 6), std::nullopt);
  EXPECT_EQ(moved_line(moves["x.c"], 7), std::nullopt);
  EXPECT_EQ(moved_line(moves["x.c"], 8), 6);
}

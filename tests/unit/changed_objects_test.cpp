#include "creator/changed_objects.h"

#include <gtest/gtest.h>

namespace hotpatch::creator {
namespace {

// What second builds of the unchanged tree found is kept in the work directory's
// state and added to object by object: a later create asks only about objects no
// earlier one covered.
TEST(BuildNoise, KeepsWhatItCoveredThroughJson) {
  BuildNoise n;
  n.files = {"version.h"};
  n.args["calc.o"] = {4};
  n.unstable_commands = {"gen.o"};
  n.unexplained = {"odd.o"};
  n.covered = {"calc.o", "main.o", "gen.o", "odd.o"};
  BuildNoise back = BuildNoise::from_json(n.to_json());
  EXPECT_EQ(back.files, n.files);
  EXPECT_EQ(back.args, n.args);
  EXPECT_EQ(back.unstable_commands, n.unstable_commands);
  EXPECT_EQ(back.unexplained, n.unexplained);
  EXPECT_EQ(back.covered, n.covered);
}

TEST(BuildNoise, MergeAddsALaterBuildsFindings) {
  BuildNoise first;
  first.files = {"version.h"};
  first.args["calc.o"] = {4};
  first.covered = {"calc.o", "main.o"};
  BuildNoise later;
  later.args["calc.o"] = {6};
  later.args["util.o"] = {2};
  later.unexplained = {"util.o"};
  later.covered = {"util.o"};
  first.merge(later);
  EXPECT_EQ(first.files, (std::set<std::string>{"version.h"}));
  EXPECT_EQ(first.args["calc.o"], (std::set<size_t>{4, 6}));
  EXPECT_EQ(first.args["util.o"], (std::set<size_t>{2}));
  EXPECT_EQ(first.unexplained, (std::set<std::string>{"util.o"}));
  EXPECT_EQ(first.covered, (std::set<std::string>{"calc.o", "main.o", "util.o"}));
}

TEST(BuildNoise, NothingCoveredWhenTheStateHasNone) {
  EXPECT_TRUE(BuildNoise::from_json(nlohmann::json()).covered.empty());
  EXPECT_TRUE(BuildNoise::from_json(nlohmann::json::object()).empty());
}

}  // namespace
}  // namespace hotpatch::creator

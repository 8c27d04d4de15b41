// Which objects of the program a diff really changed, from what the builds recorded
// (build_record.h): an object is compared only if one of its inputs changed (its
// source, a header it includes, its command line). An input that also changes
// between two builds of the unchanged tree (a generated version header, a
// -DBUILD_DATE=... the Makefile computes) is build noise: it is put back as the
// unpatched build had it, and the object compiled again, so the noise never looks
// like part of the fix. An object whose inputs changed but that the project's build
// did not compile again (a vendored library the top-level Makefile never rebuilds, a
// Makefile without header dependencies) is compiled again with its recorded command.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "creator/build_record.h"
#include "creator/work_tree.h"

namespace hotpatch::creator {

// What differs between two builds of the unchanged tree (paths relative to the tree).
struct BuildNoise {
  std::set<std::string> files;                    // inputs whose content differed
  std::map<std::string, std::set<size_t>> args;   // object -> argv positions that differed
  std::set<std::string> unstable_commands;        // objects whose command changed length
  std::set<std::string> unexplained;              // objects that differed with the same inputs
  // Objects a second build was asked about (what is above is known for them only).
  std::set<std::string> covered;

  nlohmann::json to_json() const;
  static BuildNoise from_json(const nlohmann::json& j);
  // Adds what a later second build found about other objects.
  void merge(const BuildNoise& other);
  bool empty() const { return files.empty() && args.empty() && unstable_commands.empty() && unexplained.empty(); }
};

// `first`: records of the build whose tree is in work.base(); `second`: records
// of the build of the same sources now in work.tree(), asked to compile `objects`
// (relative paths) again. They are all covered afterwards: one the second build
// did not compile again showed no noise.
BuildNoise find_build_noise(const WorkTree& work, const BuildRecords& first, const BuildRecords& second,
                            const std::vector<std::string>& objects);

struct ChangedObjects {
  std::vector<std::string> units;       // relative paths of objects to compare (bytes differ)
  std::vector<std::string> recompiled;  // "obj (why)": compiled again here, not by the build
  std::vector<std::string> notes;       // build noise left out
  // What changed goes beyond the diffs for objects no second build of the
  // unchanged tree was asked about: that build must say what is noise, for
  // `noise_objects` (relative paths). Nothing else is filled in then.
  std::string needs_noise;  // why (the first such object)
  std::vector<std::string> noise_objects;
};

// After the patched build in work.tree(): the objects among `objects` (relative)
// that the diff changed, compiling again what the build did not. `noise`: what
// second builds of the unchanged tree showed (for noise.covered). For an object
// not covered, if an input that no diff touches changed (`diff_files`: what the
// diffs touch), its command line changed, or it changed with none of its inputs,
// the answer is only `needs_noise` (unless `ask_noise` is false: then such an
// object is taken as showing no noise).
ChangedObjects find_changed_objects(WorkTree& work, const BuildRecords& unpatched, const BuildRecords& patched,
                                    const std::vector<std::string>& objects, const BuildNoise& noise,
                                    const std::set<std::string>& diff_files, bool ask_noise);

}  // namespace hotpatch::creator

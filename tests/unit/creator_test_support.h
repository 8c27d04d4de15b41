// Helpers for the Creator's pass tests: compile small C sources into objects (the
// way `hotpatch create` builds them: one section per function and per variable)
// and put them together as a Program.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "creator/closure.h"
#include "creator/compare.h"
#include "creator/correlate.h"
#include "creator/object_file.h"
#include "creator/program.h"
#include "elf_test_support.h"

namespace hotpatch::testing {

class CreatorTest : public ::testing::Test {
 protected:
  // Compiles `source` as `name`.c into an object; the name keeps two builds of
  // one file apart (a/calc.c, b/calc.c) while STT_FILE stays "calc.c".
  // A name ending in .cpp is compiled as C++, anything else gets ".c"; `flags` come
  // last (they may take the sections back: -fno-function-sections).
  creator::ObjectFile compile(const std::string& dir, const std::string& name, const std::string& source,
                              const std::string& flags = "-O2") {
    std::filesystem::create_directories(tmp_.file(dir));
    bool cpp = name.ends_with(".cpp");
    std::string file = cpp ? name : name + ".c";
    std::string src = tmp_.file(dir + "/" + file), obj = tmp_.file(dir + "/" + name + ".o");
    write_text(src, source);
    std::string cmd = "cd " + tmp_.file(dir) + " && " + (cpp ? "c++" : "cc") + " -ffunction-sections -fdata-sections " +
                      flags + " -c -o " + obj + " " + file;
    if (run(cmd) != 0) throw std::runtime_error("failed: " + cmd);
    return creator::ObjectFile::read(obj);
  }
  // A unit from one file before (`orig`) and after (`patched`) the fix.
  void add_unit(creator::Program& p, const std::string& name, const std::string& orig, const std::string& patched,
                const std::string& flags = "-O2") {
    auto u = std::make_unique<creator::Unit>(name + ".o", compile("orig", name, orig, flags),
                                             compile("patched", name, patched, flags));
    u->number = static_cast<uint32_t>(p.units.size());
    p.units.push_back(std::move(u));
  }
  // The patched symbol of unit `unit` with this name.
  creator::SymRef sym(const creator::Program& p, uint32_t unit, const std::string& name) {
    const auto& syms = p.unit(unit).patched.symbols();
    for (uint32_t i = 0; i < syms.size(); ++i)
      if (syms[i].name == name && syms[i].section != 0) return {unit, i};
    ADD_FAILURE() << "no symbol " << name << " in unit " << unit;
    return {unit, 0};
  }
  // The original symbol's name that patched symbol `name` is tied to ("" if none).
  std::string orig_name(const creator::Program& p, const std::map<uint32_t, uint32_t>& twin, uint32_t unit,
                        const std::string& name) {
    auto it = twin.find(sym(p, unit, name).index);
    return it == twin.end() ? "" : p.unit(unit).orig.symbols()[it->second].name;
  }
  // The passes before verify(), in order.
  struct Analysis {
    creator::Correlation correlation;
    creator::Changes changes;
    creator::Plan plan;
  };
  Analysis analyse(creator::Program& p) {
    Analysis a;
    a.correlation = creator::correlate(p);
    a.changes = creator::compare(p, a.correlation);
    a.plan = creator::close_over_dependencies(p, a.correlation, a.changes);
    return a;
  }
  TempDir tmp_;
};

}  // namespace hotpatch::testing

#include "creator/patch_builder.h"

#include <fmt/format.h>

#include "creator/closure.h"
#include "creator/compare.h"
#include "creator/correlate.h"
#include "creator/emit.h"
#include "creator/program.h"
#include "creator/verify.h"

namespace hotpatch::creator {

struct PatchBuilder::State {
  Program program;
  Correlation correlation;
  Changes changes;
  Plan plan;
  CreateReport report;
  bool analysed = false;

  State(const ElfImage& binary, LineMoves moves) : program(&binary, std::move(moves)) {}
  void describe();
};

PatchBuilder::PatchBuilder(const ElfImage& binary, LineMoves moves)
    : s_(std::make_unique<State>(binary, std::move(moves))) {}
PatchBuilder::~PatchBuilder() = default;

void PatchBuilder::add_unit(const std::string& relpath, ObjectFile orig, ObjectFile patched) {
  auto unit = std::make_unique<Unit>(relpath, std::move(orig), std::move(patched));
  unit->number = static_cast<uint32_t>(s_->program.units.size());
  s_->program.units.push_back(std::move(unit));
}

void PatchBuilder::add_unchanged(const std::string& relpath, const std::string& path) {
  s_->program.unchanged_paths.emplace_back(relpath, path);
}

void PatchBuilder::analyse() {
  if (s_->analysed) return;
  s_->analysed = true;
  State& s = *s_;
  s.correlation = correlate(s.program);
  s.changes = compare(s.program, s.correlation);
  s.plan = close_over_dependencies(s.program, s.correlation, s.changes);
  s.report.refused = verify(s.program, s.correlation, s.changes, s.plan);
  s.describe();
}

// The report: what is replaced, what is carried along and why.
void PatchBuilder::State::describe() {
  auto where = [&](SymRef r) { return program.unit(r.unit).where(program.sym(r)); };
  for (SymRef f : plan.included) {
    if (plan.redirected.count(f)) {
      auto why = plan.why.find(f);
      report.changed.push_back(why == plan.why.end() ? where(f) : where(f) + ", " + why->second);
    } else if (plan.unredirectable.count(f)) {
      report.added_functions.push_back(where(f) + ", changed but too short for a jump: its callers are replaced");
    } else if (!correlation.is_new(f)) {
      report.added_functions.push_back(where(f) + ", carried with the function it belongs to");
    } else {
      report.added_functions.push_back(where(f));
    }
  }
  for (SymRef d : plan.carried_data)
    if (!is_indirection_cell(program.sym(d).name)) report.added_data.push_back(where(d));
  for (SymRef f : changes.line_noise) report.line_noise.push_back(where(f));
}

const CreateReport& PatchBuilder::report() {
  analyse();
  return s_->report;
}

bool PatchBuilder::has_changes() {
  analyse();
  return !s_->plan.redirected.empty();
}

std::string PatchBuilder::assembly(const std::string& id, const std::string& description, const std::string& build_id,
                                   const std::string& object) {
  analyse();
  return emit_assembly(s_->program, s_->correlation, s_->plan, {id, description, build_id, object});
}

}  // namespace hotpatch::creator

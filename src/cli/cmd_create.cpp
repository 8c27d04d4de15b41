#include <csignal>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "cli/commands.h"
#include "common/error.h"
#include "creator/creator.h"
#include "creator/work_tree.h"
#include "elf/patch_file.h"

namespace hotpatch::cli {

int cmd_create(const CreateCommand& opts, Output& out) {
  creator::CreateOptions o;
  o.source_dir = opts.source_dir;
  o.diffs = opts.diffs;
  o.build_command = opts.build;
  o.binary = opts.binary;
  o.output = opts.output;
  o.id = opts.id;
  o.description = opts.description;
  if (!opts.work.empty()) o.work_dir = opts.work;
  if (!opts.sign_key.empty()) check_signing_key(opts.sign_key);  // before the build, not after
  if (!opts.hooks.empty()) o.hooks = opts.hooks;
  o.hooks_cflags = opts.hooks_cflags;
  creator::CreateResult r;
  try {
    r = creator::create_patch(o);
  } catch (const Error&) {
    // Ctrl-C: the work directory is back as it was; now end the way the signal would.
    if (int sig = creator::InterruptGuard::signal()) {
      std::signal(sig, SIG_DFL);
      std::raise(sig);
    }
    throw;
  }
  const auto& rep = r.report;
  if (out.json) {
    out.doc = {{"output", r.output.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.output)},
               {"build_id", r.build_id},
               {"object", r.object.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.object)},
               {"changed", rep.changed},
               {"added_functions", rep.added_functions},
               {"added_data", rep.added_data},
               {"line_noise", rep.line_noise},
               {"refused", rep.refused},
               {"recompiled", r.recompiled},
               {"added_files", r.added_files},
               {"notes", r.notes},
               {"rebuilt_from_scratch", r.rebuilt_from_scratch},
               {"seconds", r.seconds}};
  } else {
    for (const auto& f : r.added_files) fmt::print("new file: {}\n", f);
    for (const auto& f : rep.changed) fmt::print("changed: {}\n", f);
    for (const auto& f : rep.added_functions) fmt::print("new function: {}\n", f);
    for (const auto& d : rep.added_data) fmt::print("carried data: {}\n", d);
    for (const auto& f : rep.line_noise) fmt::print("unchanged (only a __LINE__ moved): {}\n", f);
    for (const auto& o : r.recompiled) fmt::print("recompiled: {}\n", o);
    for (const auto& n : r.notes) fmt::print("note: {}\n", n);
    for (const auto& why : rep.refused) fmt::print("refused: {}\n", why);
  }
  if (!rep.refused.empty()) {
    throw Error(ErrorKind::DoesNotFit, fmt::format("cannot make a live patch from {}: {} refusal{} (no file written)",
                                                   fmt::join(opts.diffs, ", "), rep.refused.size(), rep.refused.size() == 1 ? "" : "s"));
  }
  std::string signer;
  if (!opts.sign_key.empty() && !r.output.empty()) signer = sign_file(r.output, opts.sign_key).key_id;
  if (out.json && !opts.sign_key.empty()) out.doc["signed_by"] = signer;
  // What the hook file put into the patch, as apply will see it.
  nlohmann::json hooks = nlohmann::json::array();
  if (!opts.hooks.empty()) {
    PatchFile patch = read_patch_file(r.output);
    for (auto [when, cb] : {std::pair{"pre-apply", &patch.pre_apply}, {"post-apply", &patch.post_apply},
                            {"pre-revert", &patch.pre_revert}, {"post-revert", &patch.post_revert}})
      if (*cb) hooks.push_back(fmt::format("{} callback {}", when, (*cb)->name));
    for (const auto& s : patch.shadow_ids) hooks.push_back(fmt::format("shadow variables {:#x} ({})", s.id, s.name));
  }
  if (out.json) out.doc["hooks"] = hooks;
  else
    for (const auto& h : hooks) fmt::print("hook: {}\n", h.get<std::string>());
  if (!out.json)
    fmt::print("wrote {}: {} function{} for build-id {}{}{} in {:.1f} s\n", r.output, rep.changed.size(),
               rep.changed.size() == 1 ? "" : "s", r.build_id.empty() ? "none" : r.build_id,
               r.object.empty() ? "" : " of " + r.object, signer.empty() ? "" : ", signed with key " + signer, r.seconds);
  return 0;
}

}  // namespace hotpatch::cli

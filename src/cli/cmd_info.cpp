// `hotpatch info PATCH.so`: what a patch would do, read from the file alone.
#include <fmt/core.h>

#include "cli/commands.h"
#include "elf/patch_file.h"

namespace hotpatch::cli {

namespace {

std::string hex_address(uint64_t vaddr) { return fmt::format("{:#x}", vaddr); }

// The replacement by name when the patch has a symbol table, else by address.
std::string replacement_label(const PatchReplacement& r) {
  return r.replacement_name.empty() ? hex_address(r.replacement_vaddr) : r.replacement_name;
}

// The callbacks a patch has, in the order they can run.
std::vector<std::pair<const char*, const PatchCallback*>> callbacks(const PatchFile& patch) {
  std::vector<std::pair<const char*, const PatchCallback*>> out;
  for (auto [when, cb] : {std::pair{"pre-apply", &patch.pre_apply}, {"post-apply", &patch.post_apply},
                          {"pre-revert", &patch.pre_revert}, {"post-revert", &patch.post_revert}})
    if (*cb) out.emplace_back(when, &**cb);
  return out;
}

nlohmann::json to_json(const PatchFile& patch) {
  nlohmann::json doc = nlohmann::json::object();
  doc["id"] = patch.id;
  doc["format_version"] = patch.format_version;
  doc["path"] = patch.path;
  doc["description"] = patch.description;
  doc["build_id"] = patch.build_id ? nlohmann::json(*patch.build_id) : nlohmann::json(nullptr);
  doc["object"] = patch.object ? nlohmann::json(*patch.object) : nlohmann::json(nullptr);
  doc["replacements"] = nlohmann::json::array();
  for (const PatchReplacement& r : patch.replacements) {
    doc["replacements"].push_back({{"target", r.target_symbol},
                                   {"replacement", replacement_label(r)},
                                   {"replacement_vaddr", hex_address(r.replacement_vaddr)},
                                   {"size", r.replacement_size}});
  }
  doc["link"] = patch.link_near ? "near" : "dlopen";
  doc["target_relocations"] = nlohmann::json::array();
  for (const PatchTargetReloc& r : patch.target_relocs) {
    doc["target_relocations"].push_back(
        {{"target", r.target_symbol}, {"place", hex_address(r.place_vaddr)}, {"type", r.type}, {"addend", r.addend}});
  }
  doc["unwind_functions"] = patch.unwind_functions;
  doc["unwind_terminated"] = patch.unwind_terminated;
  doc["refs"] = nlohmann::json::array();
  for (const PatchRef& ref : patch.refs) {
    doc["refs"].push_back({{"target", ref.target_symbol}, {"slot", hex_address(ref.slot_vaddr)}});
  }
  doc["callbacks"] = nlohmann::json::object();
  for (auto [when, cb] : callbacks(patch)) doc["callbacks"][when] = {{"function", cb->name}, {"vaddr", hex_address(cb->vaddr)}};
  doc["shadow_ids"] = nlohmann::json::array();
  for (const PatchShadowId& s : patch.shadow_ids) doc["shadow_ids"].push_back({{"id", hex_address(s.id)}, {"name", s.name}});
  doc["sha256"] = patch.sha256;
  const SignatureStatus sig = signature_status(*patch.bytes);
  nlohmann::json signature = {{"state", sig.state}};
  if (!sig.signer.empty()) signature["signer"] = sig.signer;
  if (!sig.problem.empty()) signature["problem"] = sig.problem;
  if (sig.state == "valid") signature["trusted"] = sig.trusted.empty() ? nlohmann::json(nullptr) : nlohmann::json(sig.trusted == "yes");
  doc["signature"] = signature;
  return doc;
}

// "signature: key 0123..., verifies (a trusted key)".
std::string signature_line(const SignatureStatus& s) {
  if (s.state == "unsigned") return "none (unsigned)";
  if (s.state == "malformed") return "MALFORMED: " + s.problem + " (refused)";
  if (s.state == "invalid") return fmt::format("key {}, DOES NOT VERIFY: {} (refused)", s.signer, s.problem);
  if (s.trusted == "yes") return fmt::format("key {}, verifies (a trusted key in {})", s.signer, s.trusted_keys);
  if (s.trusted == "no") return fmt::format("key {}, verifies, but is NOT a trusted key ({}; refused)", s.signer, s.trusted_keys);
  return fmt::format("key {}, verifies (the policy names no trusted keys)", s.signer);
}

void print_text(const PatchFile& patch) {
  fmt::print("patch {} (format {})\n", patch.id, patch.format_version);
  fmt::print("  file: {} (sha256 {})\n", patch.path, patch.sha256);
  fmt::print("  signature: {}\n", signature_line(signature_status(*patch.bytes)));
  if (!patch.description.empty()) fmt::print("  description: {}\n", patch.description);
  fmt::print("  requires build-id: {}\n", patch.build_id.value_or("any build"));
  fmt::print("  object: {}\n", patch.object.value_or("main executable, then loaded libraries"));
  fmt::print("  loaded: {}\n", patch.link_near ? "near the target, linked by hotpatch (HOTPATCH_LINK_NEAR)" : "with dlopen");
  for (const PatchReplacement& r : patch.replacements) {
    std::string size = r.replacement_size > 0 ? fmt::format(" ({} bytes)", r.replacement_size) : "";
    fmt::print("  replaces: {} -> {}{}\n", r.target_symbol, replacement_label(r), size);
  }
  for (const PatchTargetReloc& r : patch.target_relocs) {
    fmt::print("  target reference: {} (relocation type {}, addend {}) at {}\n", r.target_symbol, r.type, r.addend,
               hex_address(r.place_vaddr));
  }
  for (const PatchRef& ref : patch.refs) {
    fmt::print("  ref: {} -> slot {}\n", ref.target_symbol, hex_address(ref.slot_vaddr));
  }
  for (auto [when, cb] : callbacks(patch)) fmt::print("  {} callback: {}\n", when, cb->name);
  for (const PatchShadowId& s : patch.shadow_ids) fmt::print("  shadow variables: id {} ({})\n", hex_address(s.id), s.name);
  if (patch.unwind_vaddr) {
    std::string registered;
    if (patch.link_near)
      registered = patch.unwind_terminated ? ", registered with the target's unwinder when applied"
                                           : ", not terminated: will not be registered (no exceptions through it)";
    fmt::print("  unwind tables: {} function{} at {}{}\n", patch.unwind_functions, patch.unwind_functions == 1 ? "" : "s",
               hex_address(patch.unwind_vaddr), registered);
  }
}

}  // namespace

int cmd_info(const std::string& patch_path, Output& out) {
  PatchFile patch = read_patch_file(patch_path);
  if (out.json) {
    out.doc = to_json(patch);
  } else {
    print_text(patch);
  }
  return 0;
}

}  // namespace hotpatch::cli

#include "agent/patch_trust.h"

#include <cstdlib>

#include <fmt/format.h>

#include "common/error.h"
#include "elf/elf_image.h"

namespace hotpatch::ops {

namespace {

std::string& identifier() {
  static std::string id = "hotpatch";
  return id;
}

}  // namespace

trust::Policy current_policy() {
  trust::Policy policy;
  std::string error;
  if (!trust::load_policy(std::getenv(trust::kPolicyEnvironment), policy, error))
    throw Error(ErrorKind::Untrusted, fmt::format("trust policy: {}", error));
  return policy;
}

trust::Verdict check_trusted_bytes(const std::vector<uint8_t>& bytes, const std::string& path, const std::string& action) {
  trust::AuditEvent event = patch_event(action, nullptr);
  event.patch_path = path;
  event.sha256 = trust::sha256_hex(bytes.data(), bytes.size());
  trust::Policy policy;
  try {
    policy = current_policy();
  } catch (const Error& e) {
    event.result = "refused";
    event.error = e.what();
    audit(event);
    throw;
  }
  trust::Verdict verdict = trust::judge(bytes.data(), bytes.size(), policy, path);
  if (!verdict.allowed) {
    event.result = "refused";
    event.signer = verdict.signer;
    event.error = verdict.reason;
    audit(event);
    throw Error(ErrorKind::Untrusted, verdict.reason);
  }
  return verdict;
}

void set_audit_identifier(const std::string& id) { identifier() = id; }

trust::AuditEvent patch_event(const std::string& action, const PatchFile* patch) {
  trust::AuditEvent event;
  event.action = action;
  event.caller_is_self();
  if (patch) {
    event.patch_id = patch->id;
    event.patch_path = patch->path;
    event.sha256 = patch->sha256;
    event.signer = patch->signer;
  }
  return event;
}

void describe_target(trust::AuditEvent& event, pid_t pid) {
  event.target_pid = pid;
  event.target_exe = trust::executable_of(pid);
  try {
    // /proc/PID/exe opens the very file the process runs, whatever its path is now.
    event.target_build_id = ElfImage::open(fmt::format("/proc/{}/exe", pid)).build_id().value_or("");
  } catch (const Error&) {
    // Gone, or not ours to read: the record says what it can.
  }
}

void audit(const trust::AuditEvent& event) { trust::audit(event, identifier()); }

}  // namespace hotpatch::ops

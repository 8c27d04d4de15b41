// The trust policy and the audit trail as the CLI and the agent use them
// (docs/security.md): the policy in effect, the verdict on a patch file's bytes,
// and audit records whose caller is this process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "elf/patch_file.h"
#include "trust/audit.h"
#include "trust/policy.h"

namespace hotpatch::ops {

// The policy in effect ($HOTPATCH_POLICY, else /etc/hotpatch/policy, else the
// defaults). Throws Error(Untrusted) naming the file and line when it is invalid or
// not owned by root: with a broken policy nothing is loaded.
trust::Policy current_policy();

// Judges `bytes` (the whole file at `path`) under the current policy. Refused:
// audited as ACTION refused, then Error(Untrusted) with the reason. Returns the
// verdict (signer, sha256) when allowed.
trust::Verdict check_trusted_bytes(const std::vector<uint8_t>& bytes, const std::string& path, const std::string& action);

// The name records of this process carry (SYSLOG_IDENTIFIER): "hotpatch" unless set
// (the agent says "hotpatch-agent").
void set_audit_identifier(const std::string& identifier);

// An event about `patch` (id, path, SHA-256, signer), the caller being this process.
trust::AuditEvent patch_event(const std::string& action, const PatchFile* patch);
// Fills in the target fields: pid, its program, the program's build-id.
void describe_target(trust::AuditEvent& event, pid_t pid);
// Sends it (trust::audit), under this process's identifier.
void audit(const trust::AuditEvent& event);

}  // namespace hotpatch::ops

// The audit trail (docs/security.md, "Audit trail"): every apply, revert, func
// upgrade/rollback, lib load/unload and every refusal by policy is one record in the
// system journal: who asked (uid, login uid, pid, executable), what (patch id,
// SHA-256 of the file, signer's key id), where (pid, executable, build-id of the
// process changed), the result and the pause.
//
// With journald, the record goes to its native socket (/run/systemd/journal/socket)
// with structured fields (HOTPATCH_ACTION=, HOTPATCH_RESULT=, ...: `journalctl
// HOTPATCH_ACTION=apply`); without it, to syslog's /dev/log as one line of
// key=value text, facility authpriv. The datagrams are written by hand rather than
// with syslog(3): the runtime logs from inside the target, whose own openlog()
// settings must not change. Best effort, never blocking: no journal, no record.
//
// Pure code, no exceptions (the runtime uses it).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace hotpatch::trust {

inline constexpr const char* kJournalSocket = "/run/systemd/journal/socket";
inline constexpr const char* kSyslogSocket = "/dev/log";

struct AuditEvent {
  std::string action;  // apply, revert, check, install-patch, agent-apply, lib-load, lib-unload, func-upgrade, func-rollback
  std::string result;  // ok, failed, refused
  std::string error;   // why it failed or was refused (one line)

  // Who asked.
  long long caller_uid = -1, caller_loginuid = -1, caller_pid = -1;
  std::string caller_exe;
  // What.
  std::string patch_id, patch_path, sha256, signer;  // signer: key id, empty if unsigned
  std::string replaced;  // apply --replace: the id of the patch reverted in the same stop
  // Where.
  long long target_pid = -1;
  std::string target_exe, target_build_id;
  // How it went.
  long long pause_us = -1;

  // Fills the caller fields with this process (the CLI, the agent).
  void caller_is_self();
  // Fills the caller fields from a peer's credentials (SO_PEERCRED).
  void caller_is(pid_t pid, uid_t uid);
  // Fills the target fields with this process (the runtime, for its own changes).
  void target_is_self();

  // The fields, in order, as (KEY, value) for the journal (only those set).
  std::vector<std::pair<std::string, std::string>> fields() const;
  // One human line: "apply ok: patch fix-1 (sha256 ...) signed by ... in process 42 (/usr/bin/app) ...".
  std::string message() const;
};

// The journal's native protocol datagram (MESSAGE=, PRIORITY=, SYSLOG_IDENTIFIER=,
// SYSLOG_FACILITY=, then the HOTPATCH_* fields).
std::string journal_datagram(const AuditEvent& event, const std::string& identifier);
// An RFC 3164 line for /dev/log: "<PRI>IDENT[PID]: MESSAGE key=value ...".
std::string syslog_datagram(const AuditEvent& event, const std::string& identifier, pid_t pid);
// Sends one datagram to a Unix datagram socket; false if it could not be delivered.
bool send_datagram(const std::string& socket_path, const std::string& data);

// Sends `event` to the journal (structured) or, failing that, to syslog.
// `identifier`: SYSLOG_IDENTIFIER ("hotpatch", "hotpatch-agent", "libhotpatch").
void audit(const AuditEvent& event, const std::string& identifier);

// Text helpers shared with the callers.
std::string executable_of(pid_t pid);       // readlink /proc/PID/exe, "" if unknown
long long login_uid_of(pid_t pid);          // /proc/PID/loginuid, -1 if unset or unknown
std::string self_build_id();                // this program's NT_GNU_BUILD_ID, from memory

}  // namespace hotpatch::trust

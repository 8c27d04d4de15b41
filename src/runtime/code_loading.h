// The control commands that put code into this process — lib load, lib unload,
// func upgrade, func rollback — behind the machine's trust policy, each leaving an
// audit record (docs/security.md). Anyone who may connect to the socket can read
// and set flags and variables; only root, or a uid the policy lists in
// code_loading_uids, may load code, and then only what require_signature allows.
#pragma once

#include <sys/types.h>

#include "common/control_protocol.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

// Who is on the other end of the socket (SO_PEERCRED).
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
};

// Replies refused by the policy start with this ("ERR policy: ..."); the CLI exits 11.
inline constexpr const char* kPolicyRefusal = "policy: ";

bool is_code_loading(control::Verb verb);
// Runs one of them for `peer`: the policy is read anew for every command (an edit
// to it takes effect at once), the peer checked, the command run, the outcome audited.
void run_code_loading(const control::Command& command, const Peer& peer, Reply& reply);

}  // namespace hotpatch::runtime

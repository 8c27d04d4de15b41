// The machine's trust policy (docs/security.md, "The policy file"): whether patches
// and libraries must be signed, by which keys, and which users may load code through
// a process's control socket. Read by the CLI, the agent and the runtime's control
// server (inside the target, so: pure code, no exceptions, no NSS lookups).
//
//   # /etc/hotpatch/policy (or the file $HOTPATCH_POLICY names)
//   require_signature = yes            # yes | no (default no)
//   trusted_keys = /etc/hotpatch/keys  # a directory of NAME.pub files
//   code_loading_uids = 1000, 1001     # besides root; numbers only
//
// One `key = value` per line; blank lines and lines starting with '#' are ignored.
// An unknown key, a key given twice, a bad value: an error naming the line.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "trust/signature.h"

namespace hotpatch::trust {

inline constexpr const char* kDefaultPolicyPath = "/etc/hotpatch/policy";
inline constexpr const char* kPolicyEnvironment = "HOTPATCH_POLICY";

struct Policy {
  std::string source;  // the file it came from; empty: no policy file (the defaults)
  bool require_signature = false;
  std::string trusted_keys;            // directory; empty: none configured
  std::vector<uid_t> code_loading_uids;  // besides root

  // Root always; another uid only when listed.
  bool allows_code_loading(uid_t uid) const;
  // "policy FILE" or "no policy file (FILE)" for messages.
  std::string describe() const;
};

// Parses the text of a policy file; `name` prefixes errors ("NAME:LINE: why").
bool parse_policy(std::string_view text, const std::string& name, Policy& policy, std::string& error);

// The policy in effect: the file $HOTPATCH_POLICY names (it must exist) if set,
// else /etc/hotpatch/policy, else (no file) the defaults. The file (and the
// directory it is in) must be owned by root and writable by no one else: whoever
// can edit it decides what runs in every process. False with `error` set.
// `environment_value`: the value of $HOTPATCH_POLICY (nullptr: unset).
bool load_policy(const char* environment_value, Policy& policy, std::string& error);

// The *.pub files in `dir` (owned by root, not writable by others, like the
// policy). A file that does not parse is an error, not skipped.
bool load_trusted_keys(const std::string& dir, std::vector<PublicKey>& keys, std::string& error);

// Whether `path` may be trusted as configuration: a regular file (or directory)
// owned by root, writable by no one else. False with `error` set.
bool owned_by_root_only(const std::string& path, bool directory, std::string& error);

// The decision about one file's bytes under a policy.
struct Verdict {
  bool allowed = false;
  std::string reason;      // when refused: one line, naming the file
  bool is_signed = false;  // a valid signature is present
  std::string signer;      // its key id
  bool key_trusted = false;  // the key is one of trusted_keys
  std::string sha256;      // of the bytes
};

// Signature rules (docs/security.md): a malformed or invalid signature is always
// refused; with trusted_keys configured, a valid signature by a key not in it is
// refused; an unsigned file is refused when the policy requires signatures.
// `what` names the file in messages.
Verdict judge(const uint8_t* data, size_t size, const Policy& policy, const std::string& what);

}  // namespace hotpatch::trust

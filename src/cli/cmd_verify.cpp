// `hotpatch verify FILE [--key NAME.pub]`: is FILE signed, unchanged since, and by
// whom (docs/security.md). Also what `info` says about a signature.
#include <algorithm>

#include <fmt/core.h>

#include "agent/patch_trust.h"
#include "cli/commands.h"
#include "common/error.h"
#include "trust/policy.h"
#include "trust/signature.h"

namespace hotpatch::cli {

SignatureStatus signature_status(const std::vector<uint8_t>& bytes) {
  SignatureStatus s;
  const trust::Trailer t = trust::parse_trailer(bytes.data(), bytes.size());
  switch (t.state) {
    case trust::Trailer::State::Unsigned: s.state = "unsigned"; return s;
    case trust::Trailer::State::Malformed:
      s.state = "malformed";
      s.problem = t.error;
      return s;
    case trust::Trailer::State::Present: break;
  }
  s.signer = trust::key_id(t.public_key);
  s.public_key = t.public_key;
  if (!trust::signature_valid(bytes.data(), bytes.size(), t)) {
    s.state = "invalid";
    s.problem = "the file was changed after it was signed";
    return s;
  }
  s.state = "valid";
  // Whether the policy's trusted keys include it; a policy that cannot be read
  // leaves it unknown (info still shows the file).
  try {
    trust::Policy policy = ops::current_policy();
    if (!policy.trusted_keys.empty()) {
      std::vector<trust::PublicKey> keys;
      std::string error;
      if (trust::load_trusted_keys(policy.trusted_keys, keys, error)) {
        s.trusted = std::find(keys.begin(), keys.end(), t.public_key) != keys.end() ? "yes" : "no";
        s.trusted_keys = policy.trusted_keys;
      }
    }
  } catch (const Error&) {
  }
  return s;
}

int cmd_verify(const std::string& file, const std::string& key_path, Output& out) {
  std::vector<uint8_t> bytes;
  std::string error;
  if (!trust::read_file(file, bytes, error)) throw Error(ErrorKind::BadPatchFile, error);
  SignatureStatus s = signature_status(bytes);
  if (s.state == "unsigned") throw Error(ErrorKind::Untrusted, fmt::format("{}: not signed", file));
  if (s.state == "malformed") throw Error(ErrorKind::Untrusted, fmt::format("{}: malformed signature: {}", file, s.problem));
  if (s.state == "invalid")
    throw Error(ErrorKind::Untrusted, fmt::format("{}: the signature by key {} does not verify: {}", file, s.signer, s.problem));
  std::string against;
  if (!key_path.empty()) {
    std::vector<uint8_t> key_bytes;
    if (!trust::read_file(key_path, key_bytes, error, 4096)) throw Error(ErrorKind::Usage, error);
    trust::PublicKey key;
    std::string why;
    if (!trust::parse_public_key(std::string_view(reinterpret_cast<const char*>(key_bytes.data()), key_bytes.size()), key, why))
      throw Error(ErrorKind::Usage, fmt::format("{}: not a hotpatch public key: {}", key_path, why));
    if (key != s.public_key)
      throw Error(ErrorKind::Untrusted, fmt::format("{}: signed by key {}, not by {} (key {})", file, s.signer, key_path,
                                                    trust::key_id(key)));
    against = fmt::format(", the key in {}", key_path);
  } else {
    // No key named: the machine's policy decides, as apply would.
    const trust::Policy policy = ops::current_policy();
    trust::Verdict v = trust::judge(bytes.data(), bytes.size(), policy, file);
    if (!v.allowed) throw Error(ErrorKind::Untrusted, v.reason);
    against = v.key_trusted ? fmt::format(", a trusted key ({})", policy.trusted_keys)
                            : " (not checked against trusted keys: the policy names none)";
  }
  if (out.json) {
    out.doc = {{"path", file}, {"signer", s.signer}, {"verified", true}, {"sha256", trust::sha256_hex(bytes.data(), bytes.size())}};
  } else if (!out.quiet) {
    fmt::print("{}: good signature by key {}{}\n", file, s.signer, against);
  }
  return 0;
}

}  // namespace hotpatch::cli

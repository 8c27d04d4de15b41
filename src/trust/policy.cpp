#include "trust/policy.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace hotpatch::trust {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool parse_uid_list(std::string_view value, std::vector<uid_t>& out, std::string& why) {
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] == ',' || value[i] == ' ' || value[i] == '\t') {
      ++i;
      continue;
    }
    size_t start = i;
    uint64_t n = 0;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
      n = n * 10 + static_cast<uint64_t>(value[i] - '0');
      if (n >= 0xffffffffULL) {  // (uid_t)-1 is "no uid"
        why = "uid '" + std::string(value.substr(start, i - start + 1)) + "...' is out of range";
        return false;
      }
      ++i;
    }
    if (i == start || (i < value.size() && value[i] != ',' && value[i] != ' ' && value[i] != '\t')) {
      size_t end = value.find_first_of(", \t", start);
      why = "'" + std::string(value.substr(start, end == std::string_view::npos ? end : end - start)) +
            "' is not a uid (numbers only: user names are not looked up)";
      return false;
    }
    out.push_back(static_cast<uid_t>(n));
  }
  return true;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

bool Policy::allows_code_loading(uid_t uid) const {
  return uid == 0 || std::find(code_loading_uids.begin(), code_loading_uids.end(), uid) != code_loading_uids.end();
}

std::string Policy::describe() const {
  return source.empty() ? std::string("no policy file (") + kDefaultPolicyPath + ")" : "policy " + source;
}

bool parse_policy(std::string_view text, const std::string& name, Policy& policy, std::string& error) {
  Policy p;
  p.source = name;
  bool seen_require = false, seen_keys = false, seen_uids = false;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto fail = [&](const std::string& why) {
      error = name + ":" + std::to_string(line_no) + ": " + why;
      return false;
    };
    if (line.find('\0') != std::string_view::npos) return fail("a NUL byte");
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected 'key = value', got '" + std::string(line) + "'");
    std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    auto once = [&](bool& seen) {
      if (seen) return fail("'" + std::string(key) + "' is given twice");
      seen = true;
      return true;
    };
    if (key == "require_signature") {
      if (!once(seen_require)) return false;
      if (value == "yes")
        p.require_signature = true;
      else if (value == "no")
        p.require_signature = false;
      else
        return fail("require_signature must be yes or no, not '" + std::string(value) + "'");
    } else if (key == "trusted_keys") {
      if (!once(seen_keys)) return false;
      if (value.empty() || value.front() != '/')
        return fail("trusted_keys must be an absolute directory path, not '" + std::string(value) + "'");
      p.trusted_keys = std::string(value);
    } else if (key == "code_loading_uids") {
      if (!once(seen_uids)) return false;
      std::string why;
      if (!parse_uid_list(value, p.code_loading_uids, why)) return fail("code_loading_uids: " + why);
    } else {
      return fail("unknown key '" + std::string(key) +
                  "' (known: require_signature, trusted_keys, code_loading_uids)");
    }
  }
  if (p.require_signature && p.trusted_keys.empty()) {
    error = name + ": require_signature = yes needs trusted_keys (the keys whose signatures are accepted)";
    return false;
  }
  policy = std::move(p);
  return true;
}

bool owned_by_root_only(const std::string& path, bool directory, std::string& error) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    error = path + (directory ? ": not a directory" : ": not a regular file");
    return false;
  }
  if (st.st_uid != 0) {
    error = path + ": owned by uid " + std::to_string(st.st_uid) + ", not root; refusing to trust it";
    return false;
  }
  // A sticky directory (/tmp) still lets others add files: not good enough for keys.
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    error = path + ": writable by other users (mode " + mode_text(st.st_mode) + "); refusing to trust it";
    return false;
  }
  return true;
}

bool load_policy(const char* environment_value, Policy& policy, std::string& error) {
  const bool named = environment_value && *environment_value;
  const std::string path = named ? environment_value : kDefaultPolicyPath;
  struct stat st{};
  if (!named && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    policy = Policy{};  // no policy file: the defaults
    return true;
  }
  if (named && path.front() != '/') {
    error = std::string(kPolicyEnvironment) + "='" + path + "' is not an absolute path";
    return false;
  }
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  if (!owned_by_root_only(path, false, error) || !owned_by_root_only(dir, true, error)) return false;
  std::vector<uint8_t> bytes;
  if (!read_file(path, bytes, error, 1 << 20)) return false;
  return parse_policy(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path, policy, error);
}

bool load_trusted_keys(const std::string& dir, std::vector<PublicKey>& keys, std::string& error) {
  keys.clear();
  if (!owned_by_root_only(dir, true, error)) return false;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    error = dir + ": " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pub") == 0 && name[0] != '.') names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const std::string path = dir + "/" + name;
    std::vector<uint8_t> bytes;
    if (!owned_by_root_only(path, false, error) || !read_file(path, bytes, error, 4096)) return false;
    PublicKey key;
    std::string why;
    if (!parse_public_key(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), key, why)) {
      error = path + ": not a hotpatch public key: " + why;
      return false;
    }
    keys.push_back(key);
  }
  return true;
}

Verdict judge(const uint8_t* data, size_t size, const Policy& policy, const std::string& what) {
  Verdict v;
  v.sha256 = sha256_hex(data, size);
  const Trailer t = parse_trailer(data, size);
  if (t.state == Trailer::State::Malformed) {
    v.reason = what + ": malformed signature: " + t.error;
    return v;
  }
  if (t.state == Trailer::State::Unsigned) {
    if (policy.require_signature) {
      v.reason = what + ": not signed, and the " + policy.describe() + " requires signatures (hotpatch sign)";
      return v;
    }
    v.allowed = true;
    return v;
  }
  v.signer = key_id(t.public_key);
  if (!signature_valid(data, size, t)) {
    v.reason = what + ": the signature by key " + v.signer + " does not verify: the file was changed after it was signed";
    return v;
  }
  v.is_signed = true;
  if (policy.trusted_keys.empty()) {
    v.allowed = true;  // integrity checked; no key list to check the signer against
    return v;
  }
  std::vector<PublicKey> keys;
  std::string error;
  if (!load_trusted_keys(policy.trusted_keys, keys, error)) {
    v.reason = what + ": cannot check the signer against trusted_keys: " + error;
    return v;
  }
  v.key_trusted = std::find(keys.begin(), keys.end(), t.public_key) != keys.end();
  if (!v.key_trusted) {
    v.reason = what + ": signed by key " + v.signer + ", which is not a trusted key (" + policy.trusted_keys + ", " +
               policy.describe() + ")";
    return v;
  }
  v.allowed = true;
  return v;
}

}  // namespace hotpatch::trust

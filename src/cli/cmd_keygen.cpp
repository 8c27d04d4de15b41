// `hotpatch keygen --out DIR/NAME`: an Ed25519 key pair for signing patches
// (docs/security.md): NAME.key (secret, mode 0600) and NAME.pub.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>
#include <sodium.h>

#include "cli/commands.h"
#include "common/error.h"
#include "common/paths.h"
#include "trust/signature.h"

namespace hotpatch::cli {

namespace {

// Creates `path` (never over an existing file) with `mode` and writes `text`.
void write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    if (errno == EEXIST) throw Error(ErrorKind::Usage, fmt::format("{} exists; refusing to overwrite a key", path));
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot create {}", path), errno));
  }
  // The umask may have taken bits away; never added any, but say exactly what we mean.
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(path.c_str());
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot write {}", path), err));
  }
}

}  // namespace

int cmd_keygen(const std::string& out_prefix, Output& out) {
  if (out_prefix.empty() || out_prefix.back() == '/')
    throw Error(ErrorKind::Usage, fmt::format("--out '{}' must name the key: DIR/NAME (writes NAME.key and NAME.pub)", out_prefix));
  if (!trust::crypto_ready()) throw Error(ErrorKind::Internal, "libsodium could not be initialised");
  const std::string secret_path = out_prefix + ".key", public_path = out_prefix + ".pub";
  if (::access(public_path.c_str(), F_OK) == 0)
    throw Error(ErrorKind::Usage, fmt::format("{} exists; refusing to overwrite a key", public_path));

  trust::PublicKey pk;
  std::array<uint8_t, trust::kSecretKeySize> sk;
  trust::generate_key_pair(pk, sk);
  std::string secret_text = trust::format_secret_key(sk);
  sodium_memzero(sk.data(), sk.size());
  try {
    write_new_file(secret_path, secret_text, 0600);
  } catch (...) {
    sodium_memzero(secret_text.data(), secret_text.size());
    throw;
  }
  sodium_memzero(secret_text.data(), secret_text.size());
  try {
    write_new_file(public_path, trust::format_public_key(pk, base_name(out_prefix)), 0644);
  } catch (...) {
    ::unlink(secret_path.c_str());  // half a pair is no use
    throw;
  }
  const std::string id = trust::key_id(pk);
  if (out.json) {
    out.doc = {{"key_id", id}, {"secret_key", secret_path}, {"public_key", public_path}};
  } else if (!out.quiet) {
    fmt::print("wrote {} (secret, mode 600) and {}: key id {}\n", secret_path, public_path, id);
  }
  return 0;
}

}  // namespace hotpatch::cli

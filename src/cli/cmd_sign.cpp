// `hotpatch sign --key NAME.key FILE`: appends the signature trailer
// (trust/signature.h) to a patch or a library, replacing one it already has.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/core.h>
#include <sodium.h>

#include "cli/commands.h"
#include "common/error.h"
#include "elf/elf_image.h"
#include "trust/signature.h"

namespace hotpatch::cli {

namespace {

std::array<uint8_t, trust::kSecretKeySize> read_secret_key(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorKind::Usage, errno_message(path, errno));
  // Like ssh: a secret others can read is not a secret any more.
  if (st.st_mode & 077)
    throw Error(ErrorKind::Usage, fmt::format("{}: readable or writable by other users (mode {:o}); chmod 600 it", path,
                                              st.st_mode & 07777));
  if (st.st_uid != ::geteuid())
    throw Error(ErrorKind::Usage, fmt::format("{}: owned by uid {}, not by you (uid {})", path, st.st_uid, ::geteuid()));
  std::vector<uint8_t> bytes;
  std::string error;
  if (!trust::read_file(path, bytes, error, 4096)) throw Error(ErrorKind::Usage, error);
  std::array<uint8_t, trust::kSecretKeySize> key;
  std::string why;
  bool ok = trust::parse_secret_key(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), key, why);
  sodium_memzero(bytes.data(), bytes.size());
  if (!ok) throw Error(ErrorKind::Usage, fmt::format("{}: not a hotpatch secret key: {}", path, why));
  return key;
}

// Replaces `path` with `bytes` through a temporary file and a rename, keeping its mode.
void replace_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw Error(ErrorKind::BadPatchFile, errno_message(path, errno));
  const std::string tmp = path + ".sign-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (fd < 0) throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot create {}", tmp), errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fchmod(fd, st.st_mode & 07777) == 0 && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Internal, errno_message(fmt::format("cannot write {}", path), err));
  }
}

}  // namespace

void check_signing_key(const std::string& key_path) {
  auto key = read_secret_key(key_path);
  sodium_memzero(key.data(), key.size());
}

SignResult sign_file(const std::string& file, const std::string& key_path) {
  auto key = read_secret_key(key_path);
  struct Wipe {  // the secret leaves memory however this ends
    std::array<uint8_t, trust::kSecretKeySize>& key;
    ~Wipe() { sodium_memzero(key.data(), key.size()); }
  } wipe{key};
  std::vector<uint8_t> bytes;
  std::string error;
  if (!trust::read_file(file, bytes, error)) throw Error(ErrorKind::BadPatchFile, error);
  SignResult result;
  const trust::Trailer old = trust::parse_trailer(bytes.data(), bytes.size());
  if (old.state == trust::Trailer::State::Malformed)
    throw Error(ErrorKind::BadPatchFile, fmt::format("{}: ends with a malformed signature ({}); not signing over it", file, old.error));
  if (old.state == trust::Trailer::State::Present) result.replaced_signer = trust::key_id(old.public_key);
  bytes.resize(trust::content_length(bytes.data(), bytes.size()));
  // Only ELF objects are loaded (patches, libraries for `lib load`): refuse anything else now.
  (void)ElfImage::from_bytes(bytes, file);
  std::vector<uint8_t> signed_bytes = trust::sign(bytes.data(), bytes.size(), key);
  if (signed_bytes.empty()) throw Error(ErrorKind::Internal, "libsodium could not be initialised");
  trust::PublicKey pk;
  std::copy(key.end() - trust::kPublicKeySize, key.end(), pk.begin());
  replace_file(file, signed_bytes);
  result.key_id = trust::key_id(pk);
  result.sha256 = trust::sha256_hex(signed_bytes.data(), signed_bytes.size());
  return result;
}

int cmd_sign(const std::string& key_path, const std::string& file, Output& out) {
  SignResult r = sign_file(file, key_path);
  if (out.json) {
    out.doc = {{"signed", file}, {"key_id", r.key_id}, {"sha256", r.sha256}};
    if (!r.replaced_signer.empty()) out.doc["replaced_signer"] = r.replaced_signer;
  } else if (!out.quiet) {
    fmt::print("signed {} with key {}{} (sha256 {})\n", file, r.key_id,
               r.replaced_signer.empty() ? "" : fmt::format(", replacing the signature by key {}", r.replaced_signer), r.sha256);
  }
  return 0;
}

}  // namespace hotpatch::cli

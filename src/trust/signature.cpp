#include "trust/signature.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hotpatch::trust {

namespace {

constexpr uint8_t kMagic[16] = {'h', 'o', 't', 'p', 'a', 't', 'c', 'h', '-', 's', 'i', 'g', 0, 0, 0, 1};
constexpr size_t kLengthOffset = 16, kAlgorithmOffset = 24, kReservedOffset = 28, kKeyOffset = 32,
                 kSignatureOffset = 64;
static_assert(kSignatureOffset + kSignatureSize == kTrailerSize);
static_assert(kSecretKeySize == crypto_sign_SECRETKEYBYTES && kPublicKeySize == crypto_sign_PUBLICKEYBYTES &&
              kSignatureSize == crypto_sign_BYTES);

constexpr const char* kPublicKeyTag = "hotpatch-ed25519";
constexpr const char* kSecretKeyTag = "hotpatch-ed25519-secret";

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

void store_le(uint8_t* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string hex(const uint8_t* data, size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unhex(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// "TAG HEX [rest]" on one line (a final newline allowed): the hex word, and the rest.
bool split_key_line(std::string_view text, const char* tag, std::string_view& hex_word, std::string_view& rest,
                    std::string& error) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) {
    error = "more than one line";
    return false;
  }
  const std::string_view want(tag);
  if (text.substr(0, want.size()) != want || text.size() == want.size() || text[want.size()] != ' ') {
    error = std::string("does not start with '") + tag + " '";
    return false;
  }
  text.remove_prefix(want.size() + 1);
  size_t space = text.find(' ');
  hex_word = text.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
  return true;
}

}  // namespace

bool crypto_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Trailer parse_trailer(const uint8_t* data, size_t size) {
  Trailer t;
  if (size < kTrailerSize) return t;
  const uint8_t* p = data + size - kTrailerSize;
  if (std::memcmp(p, kMagic, sizeof kMagic) != 0) return t;
  t.state = Trailer::State::Malformed;
  const uint64_t length = load_le(p + kLengthOffset, 8);
  if (length != size - kTrailerSize) {
    t.error = "its signed length " + std::to_string(length) + " is not the " + std::to_string(size - kTrailerSize) +
              " bytes before it (bytes were added or removed)";
    return t;
  }
  const uint64_t algorithm = load_le(p + kAlgorithmOffset, 4);
  if (algorithm != kAlgorithmEd25519) {
    t.error = "unknown signature algorithm " + std::to_string(algorithm);
    return t;
  }
  if (load_le(p + kReservedOffset, 4) != 0) {
    t.error = "reserved bytes are not zero";
    return t;
  }
  t.state = Trailer::State::Present;
  t.signed_length = static_cast<size_t>(length);
  std::memcpy(t.public_key.data(), p + kKeyOffset, kPublicKeySize);
  std::memcpy(t.signature.data(), p + kSignatureOffset, kSignatureSize);
  return t;
}

bool signature_valid(const uint8_t* data, size_t size, const Trailer& trailer) {
  if (trailer.state != Trailer::State::Present || size != trailer.signed_length + kTrailerSize || !crypto_ready())
    return false;
  // Covered: everything before the signature, which ends the file.
  return crypto_sign_verify_detached(trailer.signature.data(), data, size - kSignatureSize, trailer.public_key.data()) == 0;
}

std::vector<uint8_t> sign(const uint8_t* content, size_t size, const std::array<uint8_t, kSecretKeySize>& secret_key) {
  std::vector<uint8_t> out(content, content + size);
  out.resize(size + kTrailerSize, 0);
  uint8_t* t = out.data() + size;
  std::memcpy(t, kMagic, sizeof kMagic);
  store_le(t + kLengthOffset, size, 8);
  store_le(t + kAlgorithmOffset, kAlgorithmEd25519, 4);
  // libsodium's secret key ends with the public key.
  std::memcpy(t + kKeyOffset, secret_key.data() + (kSecretKeySize - kPublicKeySize), kPublicKeySize);
  if (!crypto_ready()) return {};
  crypto_sign_detached(t + kSignatureOffset, nullptr, out.data(), out.size() - kSignatureSize, secret_key.data());
  return out;
}

size_t content_length(const uint8_t* data, size_t size) {
  Trailer t = parse_trailer(data, size);
  return t.state == Trailer::State::Present ? t.signed_length : size;
}

std::string key_id(const PublicKey& key) {
  crypto_ready();
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, key.data(), key.size());
  return hex(digest, 8);
}

std::string sha256_hex(const uint8_t* data, size_t size) {
  crypto_ready();
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, data, size);
  return hex(digest, sizeof digest);
}

bool parse_public_key(std::string_view text, PublicKey& key, std::string& error) {
  std::string_view word, rest;
  if (!split_key_line(text, kPublicKeyTag, word, rest, error)) return false;
  if (!unhex(word, key.data(), key.size())) {
    error = "the key is not " + std::to_string(2 * kPublicKeySize) + " hex digits";
    return false;
  }
  return true;
}

bool parse_secret_key(std::string_view text, std::array<uint8_t, kSecretKeySize>& key, std::string& error) {
  std::string_view word, rest;
  if (!split_key_line(text, kSecretKeyTag, word, rest, error)) return false;
  if (!rest.empty()) {
    error = "unexpected text after the key";
    return false;
  }
  if (!unhex(word, key.data(), key.size())) {
    error = "the key is not " + std::to_string(2 * kSecretKeySize) + " hex digits";
    return false;
  }
  // The public half must be the one the seed gives, or signatures would carry a
  // public key that does not verify them.
  uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  if (!crypto_ready() || crypto_sign_seed_keypair(pk, sk, key.data()) != 0 ||
      std::memcmp(pk, key.data() + (kSecretKeySize - kPublicKeySize), kPublicKeySize) != 0) {
    sodium_memzero(sk, sizeof sk);
    error = "the key's two halves do not match (corrupt key file)";
    return false;
  }
  sodium_memzero(sk, sizeof sk);
  return true;
}

std::string format_public_key(const PublicKey& key, const std::string& comment) {
  std::string line = std::string(kPublicKeyTag) + " " + hex(key.data(), key.size());
  if (!comment.empty()) line += " " + comment;
  return line + "\n";
}

std::string format_secret_key(const std::array<uint8_t, kSecretKeySize>& key) {
  return std::string(kSecretKeyTag) + " " + hex(key.data(), key.size()) + "\n";
}

void generate_key_pair(PublicKey& public_key, std::array<uint8_t, kSecretKeySize>& secret_key) {
  if (!crypto_ready()) return;
  crypto_sign_keypair(public_key.data(), secret_key.data());
}

bool read_file(const std::string& path, std::vector<uint8_t>& out, std::string& error, size_t limit) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + (S_ISDIR(st.st_mode) ? ": " + std::string(std::strerror(EISDIR)) : ": not a regular file");
    ::close(fd);
    return false;
  }
  if (static_cast<uint64_t>(st.st_size) > limit) {
    error = path + ": larger than " + std::to_string(limit) + " bytes";
    ::close(fd);
    return false;
  }
  out.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > limit) {
      error = path + ": larger than " + std::to_string(limit) + " bytes";
      ::close(fd);
      return false;
    }
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return true;
}

}  // namespace hotpatch::trust

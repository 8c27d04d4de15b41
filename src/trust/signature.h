// Signed patch files (docs/security.md, "What a signature covers").
//
// A signature lives INSIDE the file it signs, as a 128-byte trailer appended to it:
// one file to ship, still a valid ELF shared object (loaders ignore bytes no header
// points to). Layout, little-endian:
//
//   offset  size
//        0    16  magic "hotpatch-sig\0\0\0\1"
//       16     8  signed length L: the offset of the trailer (the file is L + 128 bytes)
//       24     4  algorithm: 1 = Ed25519
//       28     4  reserved, zero
//       32    32  the signer's Ed25519 public key
//       64    64  the Ed25519 signature
//
// The signature is over every byte of the file before it: the content [0, L) and the
// trailer's first 64 bytes (magic, length, algorithm, the public key). So a byte
// changed anywhere in the file, the signature itself included, fails verification.
//
// Pure code, no exceptions: the runtime (libhotpatch.so, built -fno-exceptions) uses
// it too, for `lib load`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch::trust {

inline constexpr size_t kTrailerSize = 128;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSecretKeySize = 64;  // libsodium's: seed and public key
inline constexpr uint32_t kAlgorithmEd25519 = 1;

using PublicKey = std::array<uint8_t, kPublicKeySize>;

// What the end of a file says about its signature.
struct Trailer {
  enum class State { Unsigned, Malformed, Present };
  State state = State::Unsigned;
  std::string error;          // Malformed: why
  size_t signed_length = 0;   // Present: L, the length of the content
  PublicKey public_key{};
  std::array<uint8_t, kSignatureSize> signature{};
};

// Looks at the last kTrailerSize bytes. A file that does not end in a trailer (no
// magic there) is Unsigned; one whose trailer is inconsistent (length, algorithm,
// reserved bytes) is Malformed. Never reads outside [data, data + size).
Trailer parse_trailer(const uint8_t* data, size_t size);

// Whether the trailer's signature is valid for these bytes (the whole file,
// trailer included) under the trailer's own public key.
bool signature_valid(const uint8_t* data, size_t size, const Trailer& trailer);

// The file `content` (no trailer) signed with `secret_key`: content + trailer.
std::vector<uint8_t> sign(const uint8_t* content, size_t size, const std::array<uint8_t, kSecretKeySize>& secret_key);

// The file without its trailer (the whole file when it has none or a malformed one).
size_t content_length(const uint8_t* data, size_t size);

// Key ids: the first 8 bytes of the SHA-256 of the public key, 16 hex digits.
std::string key_id(const PublicKey& key);

// Lowercase hex of the SHA-256 of the bytes.
std::string sha256_hex(const uint8_t* data, size_t size);

// Key files (`hotpatch keygen`): NAME.pub is one line
//   hotpatch-ed25519 <64 hex digits> [comment]
// and NAME.key one line
//   hotpatch-ed25519-secret <128 hex digits>
// Parsing is strict; false with `error` set.
bool parse_public_key(std::string_view text, PublicKey& key, std::string& error);
bool parse_secret_key(std::string_view text, std::array<uint8_t, kSecretKeySize>& key, std::string& error);
std::string format_public_key(const PublicKey& key, const std::string& comment);
std::string format_secret_key(const std::array<uint8_t, kSecretKeySize>& key);

// A fresh key pair (libsodium's random source).
void generate_key_pair(PublicKey& public_key, std::array<uint8_t, kSecretKeySize>& secret_key);

// Reads a whole file (at most `limit` bytes) into `out` with one open: the bytes a
// caller verifies are then the bytes it uses. False with `error` ("PATH: why").
bool read_file(const std::string& path, std::vector<uint8_t>& out, std::string& error, size_t limit = size_t(1) << 30);

// libsodium must be initialised once before use; true if it is.
bool crypto_ready();

}  // namespace hotpatch::trust

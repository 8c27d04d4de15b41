// The signature trailer and key files (src/trust/signature.*).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "trust/signature.h"

namespace hotpatch::trust {
namespace {

struct KeyPair {
  PublicKey pk;
  std::array<uint8_t, kSecretKeySize> sk;
  KeyPair() { generate_key_pair(pk, sk); }
};

std::vector<uint8_t> sample_content() {
  std::vector<uint8_t> c(300);
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<uint8_t>(i * 7 + 1);
  return c;
}

TEST(Signature, RoundTripAndLayout) {
  KeyPair k;
  const auto content = sample_content();
  const auto file = sign(content.data(), content.size(), k.sk);
  ASSERT_EQ(file.size(), content.size() + kTrailerSize);
  EXPECT_EQ(0, std::memcmp(file.data(), content.data(), content.size())) << "the content is unchanged";
  const uint8_t* t = file.data() + content.size();
  EXPECT_EQ(0, std::memcmp(t, "hotpatch-sig\0\0\0\1", 16));
  uint64_t length = 0;
  std::memcpy(&length, t + 16, 8);
  EXPECT_EQ(length, content.size());
  EXPECT_EQ(t[24], 1);  // Ed25519
  EXPECT_EQ(0, std::memcmp(t + 32, k.pk.data(), 32));

  Trailer parsed = parse_trailer(file.data(), file.size());
  ASSERT_EQ(parsed.state, Trailer::State::Present) << parsed.error;
  EXPECT_EQ(parsed.signed_length, content.size());
  EXPECT_EQ(parsed.public_key, k.pk);
  EXPECT_TRUE(signature_valid(file.data(), file.size(), parsed));
  EXPECT_EQ(content_length(file.data(), file.size()), content.size());
  EXPECT_EQ(content_length(content.data(), content.size()), content.size());
}

TEST(Signature, EveryByteIsCovered) {
  KeyPair k;
  const auto content = sample_content();
  const auto file = sign(content.data(), content.size(), k.sk);
  for (size_t i = 0; i < file.size(); ++i) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = file;
      bad[i] ^= bit;
      Trailer t = parse_trailer(bad.data(), bad.size());
      EXPECT_FALSE(t.state == Trailer::State::Present && signature_valid(bad.data(), bad.size(), t))
          << "byte " << i << " bit " << int(bit) << " changed and the file still verifies";
    }
  }
}

TEST(Signature, UnsignedMalformedAndAppended) {
  const auto content = sample_content();
  EXPECT_EQ(parse_trailer(content.data(), content.size()).state, Trailer::State::Unsigned);
  EXPECT_EQ(parse_trailer(content.data(), 10).state, Trailer::State::Unsigned);
  EXPECT_EQ(parse_trailer(nullptr, 0).state, Trailer::State::Unsigned);

  KeyPair k;
  auto file = sign(content.data(), content.size(), k.sk);
  // Bytes appended after the trailer: it no longer ends the file, the file is unsigned.
  auto appended = file;
  appended.push_back(0);
  EXPECT_EQ(parse_trailer(appended.data(), appended.size()).state, Trailer::State::Unsigned);
  // A trailer moved: its length no longer matches.
  std::vector<uint8_t> shifted(file.begin() + 1, file.end());
  Trailer t = parse_trailer(shifted.data(), shifted.size());
  EXPECT_EQ(t.state, Trailer::State::Malformed);
  EXPECT_EQ(t.error, "its signed length 300 is not the 299 bytes before it (bytes were added or removed)");
  auto other_algorithm = file;
  other_algorithm[content.size() + 24] = 2;
  t = parse_trailer(other_algorithm.data(), other_algorithm.size());
  EXPECT_EQ(t.state, Trailer::State::Malformed);
  EXPECT_EQ(t.error, "unknown signature algorithm 2");
  auto reserved = file;
  reserved[content.size() + 30] = 1;
  EXPECT_EQ(parse_trailer(reserved.data(), reserved.size()).error, "reserved bytes are not zero");
  // A trailer alone (empty content) is still a signature of the empty file.
  auto empty = sign(nullptr, 0, k.sk);
  t = parse_trailer(empty.data(), empty.size());
  ASSERT_EQ(t.state, Trailer::State::Present);
  EXPECT_TRUE(signature_valid(empty.data(), empty.size(), t));
}

TEST(Signature, ASignatureMovedToOtherContentFails) {
  KeyPair k;
  auto a = sample_content(), b = sample_content();
  b[5] ^= 1;
  auto signed_a = sign(a.data(), a.size(), k.sk);
  std::vector<uint8_t> forged(b);
  forged.insert(forged.end(), signed_a.end() - kTrailerSize, signed_a.end());
  Trailer t = parse_trailer(forged.data(), forged.size());
  ASSERT_EQ(t.state, Trailer::State::Present);
  EXPECT_FALSE(signature_valid(forged.data(), forged.size(), t));
}

TEST(KeyFiles, RoundTripAndStrictParsing) {
  KeyPair k;
  PublicKey pk;
  std::array<uint8_t, kSecretKeySize> sk;
  std::string error;
  const std::string pub = format_public_key(k.pk, "release-2026");
  EXPECT_EQ(pub.rfind("hotpatch-ed25519 ", 0), 0u);
  ASSERT_TRUE(parse_public_key(pub, pk, error)) << error;
  EXPECT_EQ(pk, k.pk);
  ASSERT_TRUE(parse_secret_key(format_secret_key(k.sk), sk, error)) << error;
  EXPECT_EQ(sk, k.sk);

  EXPECT_FALSE(parse_public_key("hotpatch-ed25519 abcd\n", pk, error));
  EXPECT_EQ(error, "the key is not 64 hex digits");
  EXPECT_FALSE(parse_public_key(pub + pub, pk, error));
  EXPECT_EQ(error, "more than one line");
  EXPECT_FALSE(parse_public_key(format_secret_key(k.sk), pk, error));
  EXPECT_FALSE(parse_secret_key(pub, sk, error));
  EXPECT_EQ(error, "does not start with 'hotpatch-ed25519-secret '");
  // The public half of a secret key must belong to its seed.
  auto tampered = k.sk;
  tampered[40] ^= 1;
  EXPECT_FALSE(parse_secret_key(format_secret_key(tampered), sk, error));
  EXPECT_EQ(error, "the key's two halves do not match (corrupt key file)");
}

TEST(KeyFiles, KeyIdIsStable) {
  PublicKey zero{};
  // First 8 bytes of SHA-256 of 32 zero bytes.
  EXPECT_EQ(key_id(zero), "66687aadf862bd77");
  EXPECT_EQ(sha256_hex(nullptr, 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace hotpatch::trust

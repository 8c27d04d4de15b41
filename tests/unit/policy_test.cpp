// trust::parse_policy, load_policy, load_trusted_keys and judge (src/trust/policy.*).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "trust/policy.h"
#include "trust/signature.h"

namespace hotpatch::trust {
namespace {

Policy parse_ok(const std::string& text) {
  Policy p;
  std::string error;
  EXPECT_TRUE(parse_policy(text, "/etc/hotpatch/policy", p, error)) << error;
  return p;
}

std::string parse_error(const std::string& text) {
  Policy p;
  std::string error;
  EXPECT_FALSE(parse_policy(text, "/etc/hotpatch/policy", p, error)) << "accepted: " << text;
  return error;
}

TEST(PolicyParse, EmptyFileIsTheDefaults) {
  Policy p = parse_ok("");
  EXPECT_FALSE(p.require_signature);
  EXPECT_TRUE(p.trusted_keys.empty());
  EXPECT_TRUE(p.code_loading_uids.empty());
  EXPECT_EQ(p.source, "/etc/hotpatch/policy");
}

TEST(PolicyParse, AllKeysWithCommentsAndBlanks) {
  Policy p = parse_ok("# the machine's policy\n\n  require_signature = yes  \n"
                      "trusted_keys=/etc/hotpatch/keys\n\t# another comment\ncode_loading_uids = 1000, 1001 65534\r\n");
  EXPECT_TRUE(p.require_signature);
  EXPECT_EQ(p.trusted_keys, "/etc/hotpatch/keys");
  EXPECT_EQ(p.code_loading_uids, (std::vector<uid_t>{1000, 1001, 65534}));
  EXPECT_TRUE(p.allows_code_loading(0));
  EXPECT_TRUE(p.allows_code_loading(1001));
  EXPECT_FALSE(p.allows_code_loading(1002));
}

TEST(PolicyParse, RootAlwaysMayLoadCodeOthersOnlyWhenListed) {
  Policy none;
  EXPECT_TRUE(none.allows_code_loading(0));
  EXPECT_FALSE(none.allows_code_loading(1000));
  Policy p = parse_ok("code_loading_uids =\n");
  EXPECT_TRUE(p.code_loading_uids.empty());
  EXPECT_FALSE(p.allows_code_loading(1000));
}

TEST(PolicyParse, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error("require_signature = no\nfoo = bar\n"),
            "/etc/hotpatch/policy:2: unknown key 'foo' (known: require_signature, trusted_keys, code_loading_uids)");
  EXPECT_EQ(parse_error("\n\nrequire_signature = maybe\n"),
            "/etc/hotpatch/policy:3: require_signature must be yes or no, not 'maybe'");
  EXPECT_EQ(parse_error("require_signature = no\nrequire_signature = no\n"),
            "/etc/hotpatch/policy:2: 'require_signature' is given twice");
  EXPECT_EQ(parse_error("just words\n"), "/etc/hotpatch/policy:1: expected 'key = value', got 'just words'");
  EXPECT_EQ(parse_error("trusted_keys = keys\n"),
            "/etc/hotpatch/policy:1: trusted_keys must be an absolute directory path, not 'keys'");
  EXPECT_EQ(parse_error("code_loading_uids = 1000, bob\n"),
            "/etc/hotpatch/policy:1: code_loading_uids: 'bob' is not a uid (numbers only: user names are not looked up)");
  EXPECT_EQ(parse_error("code_loading_uids = 12x\n"),
            "/etc/hotpatch/policy:1: code_loading_uids: '12x' is not a uid (numbers only: user names are not looked up)");
  EXPECT_NE(parse_error("code_loading_uids = 4294967295\n").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error(std::string("require_signature = no\0\n", 24)).find(":1: a NUL byte"), std::string::npos);
  // Values are case-sensitive and exact.
  EXPECT_NE(parse_error("require_signature = Yes\n").find(":1:"), std::string::npos);
  EXPECT_NE(parse_error("Require_signature = yes\n").find("unknown key"), std::string::npos);
}

TEST(PolicyParse, RequiringSignaturesNeedsTrustedKeys) {
  EXPECT_EQ(parse_error("require_signature = yes\n"),
            "/etc/hotpatch/policy: require_signature = yes needs trusted_keys (the keys whose signatures are accepted)");
}

// A private directory of files the test writes (owned by root when the tests run as root).
class PolicyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hotpatch-policy-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }
  std::string dir_;
};

TEST_F(PolicyFiles, LoadsTheNamedFileAndRefusesWhatOthersCouldWrite) {
  if (geteuid() != 0) GTEST_SKIP() << "policy files must be owned by root";
  std::string path = write("policy", "require_signature = no\ncode_loading_uids = 7\n");
  Policy p;
  std::string error;
  ASSERT_TRUE(load_policy(path.c_str(), p, error)) << error;
  EXPECT_EQ(p.code_loading_uids, std::vector<uid_t>{7});
  EXPECT_EQ(p.source, path);

  chmod(path.c_str(), 0666);
  EXPECT_FALSE(load_policy(path.c_str(), p, error));
  EXPECT_EQ(error, path + ": writable by other users (mode 666); refusing to trust it");
  chmod(path.c_str(), 0644);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(load_policy(path.c_str(), p, error));
  EXPECT_EQ(error, path + ": owned by uid 65534, not root; refusing to trust it");

  EXPECT_FALSE(load_policy((dir_ + "/missing").c_str(), p, error));
  EXPECT_EQ(error, dir_ + "/missing: No such file or directory");
  EXPECT_FALSE(load_policy("relative/policy", p, error));
  EXPECT_EQ(error, "HOTPATCH_POLICY='relative/policy' is not an absolute path");
}

TEST_F(PolicyFiles, ADirectoryOthersCanWriteIsNotTrusted) {
  if (geteuid() != 0) GTEST_SKIP() << "policy files must be owned by root";
  std::string path = write("policy", "");
  chmod(dir_.c_str(), 01777);
  Policy p;
  std::string error;
  EXPECT_FALSE(load_policy(path.c_str(), p, error));
  EXPECT_EQ(error, dir_ + ": writable by other users (mode 1777); refusing to trust it");
}

TEST_F(PolicyFiles, TrustedKeysAreEveryPubFileAndABadOneIsAnError) {
  if (geteuid() != 0) GTEST_SKIP() << "key files must be owned by root";
  PublicKey a, b;
  std::array<uint8_t, kSecretKeySize> sa, sb;
  generate_key_pair(a, sa);
  generate_key_pair(b, sb);
  write("a.pub", format_public_key(a, "a"));
  write("b.pub", format_public_key(b, ""));
  write("notes.txt", "not a key, not a .pub file");
  std::vector<PublicKey> keys;
  std::string error;
  ASSERT_TRUE(load_trusted_keys(dir_, keys, error)) << error;
  EXPECT_EQ(keys, (std::vector<PublicKey>{a, b}));

  write("c.pub", "ssh-ed25519 AAAA...\n");
  EXPECT_FALSE(load_trusted_keys(dir_, keys, error));
  EXPECT_EQ(error, dir_ + "/c.pub: not a hotpatch public key: does not start with 'hotpatch-ed25519 '");
}

// Whoever can edit a trusted key decides what runs: each key file, like the policy,
// must be root's and writable by no one else.
TEST_F(PolicyFiles, AKeyOthersCouldWriteIsNotTrusted) {
  if (geteuid() != 0) GTEST_SKIP() << "key files must be owned by root";
  PublicKey a;
  std::array<uint8_t, kSecretKeySize> sa;
  generate_key_pair(a, sa);
  std::string path = write("a.pub", format_public_key(a, "a"), 0664);
  std::vector<PublicKey> keys;
  std::string error;
  EXPECT_FALSE(load_trusted_keys(dir_, keys, error));
  EXPECT_EQ(error, path + ": writable by other users (mode 664); refusing to trust it");
  chmod(path.c_str(), 0644);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(load_trusted_keys(dir_, keys, error));
  EXPECT_EQ(error, path + ": owned by uid 65534, not root; refusing to trust it");
  ASSERT_EQ(chown(path.c_str(), 0, 0), 0);
  ASSERT_TRUE(load_trusted_keys(dir_, keys, error)) << error;
  EXPECT_EQ(keys, std::vector<PublicKey>{a});
}

TEST_F(PolicyFiles, JudgeAppliesTheRules) {
  if (geteuid() != 0) GTEST_SKIP() << "key files must be owned by root";
  PublicKey trusted_pk, other_pk;
  std::array<uint8_t, kSecretKeySize> trusted_sk, other_sk;
  generate_key_pair(trusted_pk, trusted_sk);
  generate_key_pair(other_pk, other_sk);
  write("trusted.pub", format_public_key(trusted_pk, "trusted"));
  const std::vector<uint8_t> content = {0x7f, 'E', 'L', 'F', 1, 2, 3, 4, 5};
  const std::vector<uint8_t> good = sign(content.data(), content.size(), trusted_sk);
  const std::vector<uint8_t> stranger = sign(content.data(), content.size(), other_sk);

  Policy open;  // no policy file
  Policy strict = parse_ok("require_signature = yes\ntrusted_keys = " + dir_ + "\n");
  Policy keys_only = parse_ok("trusted_keys = " + dir_ + "\n");

  Verdict v = judge(content.data(), content.size(), open, "f.so");
  EXPECT_TRUE(v.allowed);
  EXPECT_FALSE(v.is_signed);
  EXPECT_EQ(v.sha256, sha256_hex(content.data(), content.size()));
  v = judge(content.data(), content.size(), strict, "f.so");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, "f.so: not signed, and the policy /etc/hotpatch/policy requires signatures (hotpatch sign)");

  v = judge(good.data(), good.size(), strict, "f.so");
  EXPECT_TRUE(v.allowed) << v.reason;
  EXPECT_TRUE(v.key_trusted);
  EXPECT_EQ(v.signer, key_id(trusted_pk));

  // Signed by someone else: fine without a key list, refused with one.
  v = judge(stranger.data(), stranger.size(), open, "f.so");
  EXPECT_TRUE(v.allowed);
  EXPECT_FALSE(v.key_trusted);
  v = judge(stranger.data(), stranger.size(), keys_only, "f.so");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, "f.so: signed by key " + key_id(other_pk) + ", which is not a trusted key (" + dir_ +
                          ", policy /etc/hotpatch/policy)");

  // A bad signature is refused under every policy.
  for (size_t at : {size_t{0}, content.size() + 40, good.size() - 1}) {
    std::vector<uint8_t> flipped = good;
    flipped[at] ^= 0x20;
    for (const Policy* p : {&open, &keys_only, &strict}) {
      v = judge(flipped.data(), flipped.size(), *p, "f.so");
      EXPECT_FALSE(v.allowed) << "byte " << at;
      EXPECT_NE(v.reason.find("does not verify"), std::string::npos) << v.reason;
    }
  }
}

}  // namespace
}  // namespace hotpatch::trust

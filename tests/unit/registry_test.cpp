#include <gtest/gtest.h>

#include "common/registry.h"

using namespace hotpatch;

namespace {
Registry sample() {
  Registry reg;
  PatchRecord a;
  a.id = "fix-a";
  a.description = "first";
  a.path = "/opt/fix-a.so";
  a.applied_unix = 1790000000;
  a.handle = 0x7f0000100000;
  a.code = {0x7f0000101000, 0x1000};
  a.stubs = {{0x555555550000, 4096}};
  a.unwind_tables = {0x7f0000102280, 0x555555551000};
  RedirectRecord r;
  r.symbol = "compute";
  r.replacement_name = "compute_v2";
  r.target = 0x555555555139;
  r.target_size = 24;
  r.patch_site = 0x55555555513d;
  r.replacement = 0x7f0000101100;
  r.replacement_size = 13;
  r.stub = 0x555555550000;
  r.preserved = 0x0000000300000044;
  r.saved = {0x55, 0x48, 0x89, 0xe5, 0x89};
  r.written = {0xe9, 1, 2, 3, 4};
  a.redirects.push_back(r);
  PatchRecord b = a;
  b.id = "fix-b";
  b.redirects[0].saved = r.written;
  b.redirects[0].written = {0xe9, 5, 6, 7, 8};
  reg.patches = {a, b};
  return reg;
}
}  // namespace

TEST(Registry, RoundTrip) {
  Registry reg = sample();
  auto bytes = encode_registry(reg);
  auto back = decode_registry(bytes.data(), bytes.size());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->patches.size(), 2u);
  EXPECT_EQ(back->patches[1].id, "fix-b");
  EXPECT_EQ(back->patches[0].redirects[0].saved, reg.patches[0].redirects[0].saved);
  EXPECT_EQ(back->patches[1].redirects[0].written, reg.patches[1].redirects[0].written);
  EXPECT_EQ(back->patches[0].stubs[0].start, 0x555555550000u);
  EXPECT_EQ(back->patches[0].redirects[0].preserved, 0x0000000300000044u);
  EXPECT_EQ(back->patches[0].unwind_tables, reg.patches[0].unwind_tables);
  EXPECT_EQ(encode_registry(*back), bytes);
}

// Encodings before "HGR3" lived only in runtimes of registry layout 1, refused by
// the header; bytes that claim one are not decoded as if they were today's.
TEST(Registry, EarlierEncodingTagsAreRefused) {
  auto bytes = encode_registry(sample());
  ASSERT_EQ(bytes[3], '4');  // "HGR4", little-endian: the last byte is the digit
  for (char older : {'1', '2'}) {
    bytes[3] = older;
    EXPECT_FALSE(decode_registry(bytes.data(), bytes.size())) << "HGR" << older;
  }
}

// "HGR4" adds the revert callbacks and the shadow flag after each patch's redirects.
TEST(Registry, RevertCallbacksRoundTrip) {
  Registry reg = sample();
  reg.patches[1].pre_revert = 0x7f0000101200;
  reg.patches[1].post_revert = 0x7f0000101300;
  reg.patches[1].shadow_ids = true;
  auto bytes = encode_registry(reg);
  auto back = decode_registry(bytes.data(), bytes.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->patches[0].pre_revert, 0u);
  EXPECT_FALSE(back->patches[0].shadow_ids);
  EXPECT_EQ(back->patches[1].pre_revert, 0x7f0000101200u);
  EXPECT_EQ(back->patches[1].post_revert, 0x7f0000101300u);
  EXPECT_TRUE(back->patches[1].shadow_ids);
  auto bad_flags = bytes;
  bad_flags[bad_flags.size() - 4] = 2;  // the last patch's flags: only bit 0 exists
  EXPECT_FALSE(decode_registry(bad_flags.data(), bad_flags.size()));
}

// A runtime loaded by an earlier hotpatch of the same layout keeps "HGR3" (no
// callbacks): still read.
TEST(Registry, Hgr3IsStillRead) {
  Registry reg = sample();
  reg.patches.resize(1);
  auto bytes = encode_registry(reg);
  bytes.resize(bytes.size() - 20);  // pre_revert, post_revert, flags
  bytes[3] = '3';
  auto back = decode_registry(bytes.data(), bytes.size());
  ASSERT_TRUE(back);
  ASSERT_EQ(back->patches.size(), 1u);
  EXPECT_EQ(back->patches[0].id, "fix-a");
  EXPECT_EQ(back->patches[0].redirects[0].written, reg.patches[0].redirects[0].written);
  EXPECT_EQ(back->patches[0].post_revert, 0u);
}

TEST(Registry, EmptyBytesMeanNothingApplied) {
  auto reg = decode_registry(nullptr, 0);
  ASSERT_TRUE(reg);
  EXPECT_TRUE(reg->patches.empty());
}

TEST(Registry, TopPatchIsTheNewest) {
  Registry reg = sample();
  ASSERT_NE(reg.top_patch_for(0x555555555139), nullptr);
  EXPECT_EQ(reg.top_patch_for(0x555555555139)->id, "fix-b");
  EXPECT_EQ(reg.top_patch_for(0x1234), nullptr);
  EXPECT_EQ(reg.find("fix-a")->description, "first");
  EXPECT_EQ(reg.find("nope"), nullptr);
}

TEST(Registry, CorruptBytesAreRejectedNotTrusted) {
  auto bytes = encode_registry(sample());
  // Every truncation is detected.
  for (size_t len = 1; len < bytes.size(); ++len) EXPECT_FALSE(decode_registry(bytes.data(), len)) << "length " << len;
  // A huge count cannot make the decoder allocate or read past the end.
  auto huge = bytes;
  huge[4] = huge[5] = huge[6] = huge[7] = 0xff;
  EXPECT_FALSE(decode_registry(huge.data(), huge.size()));
  // Trailing garbage is an error too.
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(decode_registry(trailing.data(), trailing.size()));
  // Flipping any byte never crashes (it may still decode: names are free text).
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto flipped = bytes;
    flipped[i] ^= 0xa5;
    (void)decode_registry(flipped.data(), flipped.size());
  }
}

TEST(Registry, StateSurvivesTheRoundTrip) {
  Registry reg = sample();
  reg.patches[0].state = PatchState::Applied;
  reg.patches[1].state = PatchState::Applying;
  auto bytes = encode_registry(reg);
  auto back = decode_registry(bytes.data(), bytes.size());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->patches[0].state, PatchState::Applied);
  EXPECT_EQ(back->patches[1].state, PatchState::Applying);
  back->patches[1].state = PatchState::Reverting;
  auto reverting = encode_registry(*back);
  auto again = decode_registry(reverting.data(), reverting.size());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->patches[1].state, PatchState::Reverting);
}

TEST(Registry, UnknownStateIsCorrupt) {
  Registry reg = sample();
  reg.patches.resize(1);
  auto bytes = encode_registry(reg);
  // The state follows tag, count, id, description, path, applied time and handle.
  size_t at = 4 + 4 + (4 + reg.patches[0].id.size()) + (4 + reg.patches[0].description.size()) +
              (4 + reg.patches[0].path.size()) + 8 + 8;
  ASSERT_EQ(bytes[at], 0u);
  bytes[at] = 3;
  EXPECT_FALSE(decode_registry(bytes.data(), bytes.size()));
}

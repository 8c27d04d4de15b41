// Patch files: the fixtures in tests/unit/fixtures, variants edited byte by byte,
// and corrupt copies that must be rejected cleanly.
#include "elf/patch_file.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include <hotpatch/patch.h>

#include "common/error.h"
#include "elf_test_support.h"

namespace hotpatch {
namespace {

using testing::capture;
using testing::fixture;
using testing::read_bytes;
using testing::run;
using testing::TempDir;
using testing::write_bytes;
using testing::write_text;

std::string real_path(const std::string& path) { return std::filesystem::canonical(path).string(); }

const ElfSymbol& only_symbol(const ElfImage& image, const std::string& name) {
  auto found = image.find_symbols(name);
  if (found.size() != 1) throw std::runtime_error(name + ": expected exactly one symbol");
  return *found.front();
}

// The BadPatchFile message read_patch_file gives for `path`, or "" if it succeeds.
std::string rejection(const std::string& path) {
  try {
    read_patch_file(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadPatchFile) << e.what();
    return e.what();
  }
  return "";
}

std::string rejection(std::vector<uint8_t> bytes, const std::string& name) {
  try {
    parse_patch(ElfImage::from_bytes(std::move(bytes), name), name);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadPatchFile) << e.what();
    return e.what();
  }
  return "";
}

// File offset of the section header describing `name`.
uint64_t section_header_offset(const std::vector<uint8_t>& file, const ElfImage::Section& section) {
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, file.data(), sizeof ehdr);
  for (uint64_t i = 0; i < ehdr.e_shnum; ++i) {
    uint64_t at = ehdr.e_shoff + i * sizeof(Elf64_Shdr);
    Elf64_Shdr shdr;
    std::memcpy(&shdr, file.data() + at, sizeof shdr);
    if (shdr.sh_offset == section.offset && shdr.sh_addr == section.addr && shdr.sh_size == section.size) return at;
  }
  throw std::runtime_error("section header of " + section.name + " not found");
}

TEST(PatchFile, FullPatch) {
  PatchFile patch = read_patch_file(fixture("patch_full"));
  ElfImage image = ElfImage::open(fixture("patch_full"));

  EXPECT_EQ(patch.path, real_path(fixture("patch_full")));
  EXPECT_EQ(patch.format_version, 1u);
  EXPECT_EQ(patch.id, "fix-compute");
  EXPECT_EQ(patch.description, "CVE-0000-0000: compute overflows");
  EXPECT_EQ(patch.build_id, "3f2a00112233445566778899aabbccddeeff0011");  // lower-cased
  EXPECT_EQ(patch.object, "libfoo.so.1");
  EXPECT_EQ(patch.patch_build_id, image.build_id().value_or("<none>"));

  ASSERT_EQ(patch.replacements.size(), 2u);
  std::map<std::string, PatchReplacement> by_target;
  for (const auto& r : patch.replacements) by_target[r.target_symbol] = r;
  const ElfSymbol& compute = only_symbol(image, "compute_v2");
  const ElfSymbol& scale = only_symbol(image, "scale_v2");
  ASSERT_EQ(by_target.count("compute"), 1u);
  EXPECT_EQ(by_target["compute"].replacement_vaddr, compute.value);
  EXPECT_EQ(by_target["compute"].replacement_size, compute.size);
  EXPECT_EQ(by_target["compute"].replacement_name, "compute_v2");
  ASSERT_EQ(by_target.count("_ZN3foo5scaleEi"), 1u);
  EXPECT_EQ(by_target["_ZN3foo5scaleEi"].replacement_vaddr, scale.value);
  EXPECT_EQ(by_target["_ZN3foo5scaleEi"].replacement_name, "scale_v2");
  EXPECT_GT(by_target["_ZN3foo5scaleEi"].replacement_size, 0u);

  ASSERT_EQ(patch.refs.size(), 2u);
  std::map<std::string, uint64_t> slots;
  for (const auto& ref : patch.refs) slots[ref.target_symbol] = ref.slot_vaddr;
  EXPECT_EQ(slots["counter"], only_symbol(image, "counter_ref").value);
  EXPECT_EQ(slots["helper"], only_symbol(image, "helper_ref").value);

  EXPECT_LT(patch.text_vaddr_start, patch.text_vaddr_end);
  for (const auto& r : patch.replacements) {
    EXPECT_GE(r.replacement_vaddr, patch.text_vaddr_start);
    EXPECT_LT(r.replacement_vaddr + r.replacement_size, patch.text_vaddr_end + 1);
  }
}

TEST(PatchFile, MinimalPatchTakesItsIdFromTheFileName) {
  PatchFile patch = read_patch_file(fixture("patch_minimal"));
  EXPECT_EQ(patch.id, "patch_minimal");
  EXPECT_EQ(patch.description, "");
  EXPECT_FALSE(patch.build_id.has_value());
  EXPECT_FALSE(patch.object.has_value());
  ASSERT_EQ(patch.replacements.size(), 1u);
  EXPECT_EQ(patch.replacements[0].target_symbol, "compute");
  EXPECT_EQ(patch.replacements[0].replacement_name, "compute_v2");
  EXPECT_TRUE(patch.refs.empty());
}

TEST(PatchFile, DefaultIdVariants) {
  TempDir dir;
  auto bytes = read_bytes(fixture("patch_minimal"));
  write_bytes(dir.file("fix-1.2.so"), bytes);
  EXPECT_EQ(read_patch_file(dir.file("fix-1.2.so")).id, "fix-1.2");
  write_bytes(dir.file("no_extension"), bytes);
  EXPECT_EQ(read_patch_file(dir.file("no_extension")).id, "no_extension");
  write_bytes(dir.file("my patch.so"), bytes);
  EXPECT_NE(rejection(dir.file("my patch.so")).find("(from the file name)"), std::string::npos);
  // An explicit HOTPATCH_ID wins over an unusable file name.
  write_bytes(dir.file("full patch.so"), read_bytes(fixture("patch_full")));
  EXPECT_EQ(read_patch_file(dir.file("full patch.so")).id, "fix-compute");
}

TEST(PatchFile, PathIsMadeAbsolute) {
  struct WorkingDirectory {
    std::filesystem::path previous = std::filesystem::current_path();
    ~WorkingDirectory() { std::filesystem::current_path(previous); }
  } restore;
  std::filesystem::current_path(FIXTURE_DIR);
  PatchFile patch = read_patch_file("./patch_minimal.so");
  EXPECT_EQ(patch.path, real_path(fixture("patch_minimal")));
  EXPECT_EQ(patch.path.front(), '/');
}

TEST(PatchFile, StrippedPatchStillParses) {
  TempDir dir;
  const std::string stripped = dir.file("stripped.so");
  ASSERT_EQ(run("strip --strip-all -o " + stripped + " " + fixture("patch_full")), 0);
  ASSERT_FALSE(ElfImage::open(stripped).has_symtab());
  PatchFile patch = read_patch_file(stripped);
  EXPECT_EQ(patch.id, "fix-compute");
  ASSERT_EQ(patch.replacements.size(), 2u);
  for (const auto& r : patch.replacements) {
    if (r.target_symbol == "compute") {
      EXPECT_EQ(r.replacement_name, "compute_v2");  // exported: still in .dynsym
      EXPECT_GT(r.replacement_size, 0u);
    } else {
      EXPECT_EQ(r.replacement_name, "");  // static: its name went with .symtab
      EXPECT_EQ(r.replacement_size, 0u);
    }
  }
}

// A patch linked with -z pack-relative-relocs has its relative pointers in .relr.dyn,
// with the addend stored in place.
TEST(PatchFile, PackedRelativeRelocations) {
  TempDir dir;
  const std::string packed = dir.file("packed.so");
  ASSERT_EQ(run(std::string("cc -shared -fPIC -O2 -I") + HOTPATCH_INCLUDE_DIR + " -Wl,-z,pack-relative-relocs " +
                HOTPATCH_INCLUDE_DIR + "/../tests/unit/fixtures/patch_full.c -o " + packed),
            0);
  ASSERT_NE(capture("readelf -SW " + packed).find(" RELR "), std::string::npos) << "linker did not pack";

  PatchFile patch = read_patch_file(packed);
  ElfImage image = ElfImage::open(packed);
  EXPECT_EQ(patch.id, "fix-compute");
  EXPECT_EQ(patch.description, "CVE-0000-0000: compute overflows");
  ASSERT_EQ(patch.replacements.size(), 2u);
  for (const auto& r : patch.replacements) {
    EXPECT_EQ(r.replacement_vaddr, only_symbol(image, r.replacement_name).value) << r.target_symbol;
  }
  ASSERT_EQ(patch.refs.size(), 2u);
}

struct BadFixture {
  const char* name;
  const char* phrase;
};

class BadPatch : public ::testing::TestWithParam<BadFixture> {};

TEST_P(BadPatch, IsRejectedWithATellingMessage) {
  const std::string path = fixture(GetParam().name);
  std::string message = rejection(path);
  ASSERT_FALSE(message.empty()) << GetParam().name << " was accepted";
  EXPECT_EQ(message.rfind(real_path(path) + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(GetParam().phrase), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadPatch,
    ::testing::Values(
        BadFixture{"not_a_patch", "not a hotpatch file (no .hotpatch section)"},
        BadFixture{"bad_replace_twice", "'compute' is replaced twice"},
        BadFixture{"bad_two_ids", "more than one HOTPATCH_ID record"},
        BadFixture{"bad_two_descriptions", "more than one HOTPATCH_DESCRIPTION record"},
        BadFixture{"bad_two_objects", "more than one HOTPATCH_OBJECT record"},
        BadFixture{"bad_two_build_ids", "more than one HOTPATCH_BUILD_ID record"},
        BadFixture{"bad_build_id_hex", "bad build-id hex '3f2a-not-hex'"},
        BadFixture{"bad_build_id_odd", "bad build-id hex '3f2a0'"},
        BadFixture{"bad_id_chars", "has characters outside [A-Za-z0-9._+-]"},
        BadFixture{"bad_id_too_long", "is 65 characters long (at most 64)"},
        BadFixture{"bad_id_empty", "patch id '' is empty"},
        BadFixture{"bad_object_empty", "HOTPATCH_OBJECT names no object"},
        BadFixture{"bad_no_replace", "no replacement"},
        BadFixture{"bad_replace_data", "is not in an executable segment"},
        BadFixture{"bad_replace_mid_function", "points into the middle of function compute_v2"},
        BadFixture{"bad_replace_undefined", "undefined symbol"},
        BadFixture{"bad_ref_readonly", "is not in a writable segment"},
        BadFixture{"bad_ref_wide_slot", "the slot wide_ref is 16 bytes, not a pointer"},
        BadFixture{"bad_version", "unsupported patch format version 3 (this hotpatch reads 1 to 2)"},
        BadFixture{"bad_two_pre_apply", "more than one HOTPATCH_PRE_APPLY record"},
        BadFixture{"bad_callback_old_version", "POST_APPLY record of version 1; the kind needs version 2"},
        BadFixture{"bad_callback_data", "PRE_APPLY 'not_code': the function at"},
        BadFixture{"bad_magic", "bad magic 0x12345678"},
        BadFixture{"bad_kind", "unknown record kind 99"},
        BadFixture{"bad_reserved", "reserved field is 0x1, must be 0"},
        BadFixture{"bad_name_null", "the name is not a pointer into the patch"},
        BadFixture{"bad_section_size", "size 48 is not a multiple of the 32-byte record"},
        BadFixture{"bad_target_reloc_without_near", "TARGET_RELOC records need HOTPATCH_LINK_NEAR"}),
    [](const ::testing::TestParamInfo<BadFixture>& info) { return std::string(info.param.name); });

TEST(PatchFile, LinkNearPatchCarriesItsTargetReferences) {
  PatchFile patch = read_patch_file(fixture("near_patch"));
  ElfImage image = ElfImage::open(fixture("near_patch"));
  EXPECT_TRUE(patch.link_near);
  ASSERT_EQ(patch.target_relocs.size(), 1u);
  const PatchTargetReloc& r = patch.target_relocs[0];
  EXPECT_EQ(r.target_symbol, "counter");
  EXPECT_EQ(r.type, 2u);  // R_X86_64_PC32
  EXPECT_EQ(r.addend, -4);
  // The place is the displacement of the lea inside compute_v2: its 3 opcode bytes
  // (48 8d 05 for rax; REX/ModRM vary with the register) come right before it.
  const ElfSymbol* fn = image.function_containing(r.place_vaddr);
  ASSERT_NE(fn, nullptr);
  EXPECT_EQ(fn->name, "compute_v2");
  auto before = image.read_vaddr(r.place_vaddr - 2, 2);
  ASSERT_TRUE(before);
  EXPECT_EQ((*before)[0], 0x8d) << "lea opcode";
  EXPECT_EQ((*before)[1] & 0xc7, 0x05) << "ModRM: rip-relative";
}

TEST(PatchFile, CallbacksAndShadowIds) {
  PatchFile patch = read_patch_file(fixture("patch_callbacks"));
  ElfImage image = ElfImage::open(fixture("patch_callbacks"));
  EXPECT_EQ(patch.format_version, 2u);
  auto at = [&](const std::optional<PatchCallback>& cb, const std::string& fn) {
    ASSERT_TRUE(cb.has_value()) << fn;
    EXPECT_EQ(cb->name, fn);
    EXPECT_EQ(cb->vaddr, only_symbol(image, fn).value) << fn;
  };
  at(patch.pre_apply, "check_first");
  at(patch.post_apply, "started");
  at(patch.pre_revert, "stopping");  // a static function: R_X86_64_RELATIVE
  at(patch.post_revert, "stopped");
  ASSERT_EQ(patch.shadow_ids.size(), 2u) << "CONN_EXTRA is declared twice, counted once";
  std::map<uint64_t, std::string> ids;
  for (const auto& s : patch.shadow_ids) ids[s.id] = s.name;
  EXPECT_EQ(ids[0x636f6e6e01u], "CONN_EXTRA");
  EXPECT_EQ(ids[7], "7");
}

// Records of kinds 1-8 keep version 1, so a patch that uses nothing newer still
// reads with a hotpatch that knows only version 1.
TEST(PatchFile, OldKindsAreWrittenAsVersion1) {
  for (const char* name : {"patch_full", "patch_minimal"}) {
    ElfImage image = ElfImage::open(fixture(name));
    auto section = image.section(HOTPATCH_SECTION);
    ASSERT_TRUE(section.has_value()) << name;
    for (uint64_t at = 0; at + 32 <= section->size; at += 32) {
      uint16_t version;
      std::memcpy(&version, section->data.data() + at + 4, 2);
      EXPECT_EQ(version, 1u) << name << " record " << at / 32;
    }
    EXPECT_EQ(read_patch_file(fixture(name)).format_version, 1u) << name;
  }
  PatchFile plain = read_patch_file(fixture("patch_full"));
  EXPECT_FALSE(plain.pre_apply || plain.post_apply || plain.pre_revert || plain.post_revert);
  EXPECT_TRUE(plain.shadow_ids.empty());
}

TEST(PatchFile, PlainPatchIsNotLinkNear) {
  PatchFile patch = read_patch_file(fixture("patch_full"));
  EXPECT_FALSE(patch.link_near);
  EXPECT_TRUE(patch.target_relocs.empty());
}

TEST(PatchFile, MissingFile) {
  EXPECT_EQ(rejection("/nonexistent-dir/fix.so"), "/nonexistent-dir/fix.so: No such file or directory");
}

TEST(PatchFile, NotAnElfFile) {
  TempDir dir;
  write_text(dir.file("notes.so"), "this is not an ELF file\n");
  EXPECT_EQ(rejection(dir.file("notes.so")), real_path(dir.file("notes.so")) + ": not an ELF file");
}

TEST(PatchFile, NotASharedObject) {
  TempDir dir;
  const std::string object = dir.file("patch.o");
  ASSERT_EQ(run(std::string("cc -c -fPIC -I") + HOTPATCH_INCLUDE_DIR + " " + HOTPATCH_INCLUDE_DIR +
                "/../tests/unit/fixtures/patch_minimal.c -o " + object),
            0);
  EXPECT_NE(rejection(object).find("not a shared object"), std::string::npos);

  auto executable = read_bytes(fixture("patch_minimal"));
  uint16_t exec_type = ET_EXEC;
  std::memcpy(executable.data() + offsetof(Elf64_Ehdr, e_type), &exec_type, 2);
  EXPECT_NE(rejection(executable, "exec").find("exec: not a shared object (ELF type 2)"), std::string::npos);
}

TEST(PatchFile, EditedRecordSection) {
  const auto good = read_bytes(fixture("patch_minimal"));
  ElfImage image = ElfImage::from_bytes(good, "good");
  auto section = image.section(HOTPATCH_SECTION);
  ASSERT_TRUE(section.has_value());
  ASSERT_EQ(rejection(good, "good"), "");

  auto future = good;
  uint16_t version = 7;
  std::memcpy(future.data() + section->offset + 4, &version, 2);
  EXPECT_EQ(rejection(future, "future.so"), "future.so: unsupported patch format version 7 (this hotpatch reads 1 to 2)");

  const uint64_t header = section_header_offset(good, *section);
  auto resized = [&](uint64_t size) {
    auto copy = good;
    std::memcpy(copy.data() + header + offsetof(Elf64_Shdr, sh_size), &size, 8);
    return copy;
  };
  EXPECT_NE(rejection(resized(0), "empty").find("the .hotpatch section is empty"), std::string::npos);
  EXPECT_NE(rejection(resized(31), "short").find("size 31 is not a multiple"), std::string::npos);
  EXPECT_NE(rejection(resized(uint64_t{1} << 40), "huge").find("huge: truncated"), std::string::npos);

  // A future format may have another record size: its version is what to report.
  auto future_layout = resized(48);
  std::memcpy(future_layout.data() + section->offset + 4, &version, 2);
  EXPECT_EQ(rejection(future_layout, "v7.so"), "v7.so: unsupported patch format version 7 (this hotpatch reads 1 to 2)");

  auto nobits = good;
  uint32_t type = SHT_NOBITS;
  std::memcpy(nobits.data() + header + offsetof(Elf64_Shdr, sh_type), &type, 4);
  EXPECT_NE(rejection(nobits, "nobits").find("no contents in the file"), std::string::npos);
}

// Corrupt input must end in a parsed patch or a hotpatch::Error, nothing else.
enum class Outcome { Parsed, Rejected };

Outcome parse_anything(std::vector<uint8_t> bytes, const std::string& label) {
  try {
    ElfImage image = ElfImage::from_bytes(std::move(bytes), label);
    // What a loader would ask of any object, patch or not.
    (void)image.build_id();
    (void)image.soname();
    (void)image.debuglink();
    for (const ElfSymbol& sym : image.symbols()) (void)image.function_containing(sym.value);
    (void)image.find_symbols("compute_v2");
    PatchFile patch = parse_patch(image, label);
    for (const auto& r : patch.replacements) (void)image.read_vaddr(r.replacement_vaddr, r.replacement_size);
    return Outcome::Parsed;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadPatchFile) << label << ": " << e.what();
    EXPECT_EQ(std::string(e.what()).rfind(label + ": ", 0), 0u) << e.what();
    return Outcome::Rejected;
  } catch (const std::exception& e) {
    ADD_FAILURE() << label << ": threw something other than hotpatch::Error: " << e.what();
    return Outcome::Rejected;
  }
}

TEST(PatchFileCorruption, EveryTruncationIsRejected) {
  const auto good = read_bytes(fixture("patch_full"));
  ASSERT_EQ(parse_anything(good, "whole"), Outcome::Parsed);
  std::vector<size_t> lengths = {0, 1, 4, 63};
  for (size_t n = 64; n < good.size(); n += 64) lengths.push_back(n);
  lengths.push_back(good.size() - 1);
  for (size_t n : lengths) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_EQ(parse_anything(std::move(cut), "cut-" + std::to_string(n)), Outcome::Rejected) << n << " bytes";
  }
}

TEST(PatchFileCorruption, ByteFlipsAtEveryOffset) {
  const auto good = read_bytes(fixture("patch_full"));
  size_t rejected = 0, runs = 0;
  for (size_t offset = 0; offset < good.size(); ++offset) {
    for (uint8_t replacement : {uint8_t(good[offset] ^ 0xff), uint8_t(0x00), uint8_t(0x80), uint8_t(0x7f)}) {
      if (replacement == good[offset]) continue;
      auto bad = good;
      bad[offset] = replacement;
      rejected += parse_anything(std::move(bad), "flip-" + std::to_string(offset)) == Outcome::Rejected;
      ++runs;
    }
  }
  // Sanity: the sweep reached the checks (ELF magic, record magic...), and most
  // bytes (debug info, padding) do not matter.
  EXPECT_GT(rejected, 50u);
  EXPECT_LT(rejected, runs);
}

TEST(PatchFileCorruption, RandomMultiByteMutations) {
  const auto good = read_bytes(fixture("patch_full"));
  std::mt19937_64 random(20261126);  // fixed: failures must reproduce
  std::uniform_int_distribution<size_t> offset_of(0, good.size() - 1);
  std::uniform_int_distribution<int> byte_of(0, 255), count_of(1, 16);
  for (int round = 0; round < 3000; ++round) {
    auto bad = good;
    for (int i = count_of(random); i > 0; --i) bad[offset_of(random)] = static_cast<uint8_t>(byte_of(random));
    parse_anything(std::move(bad), "random-" + std::to_string(round));
  }
}

TEST(PatchFileCorruption, GarbageIsRejected) {
  std::mt19937_64 random(7);
  for (size_t size : {16, 64, 100, 4096}) {
    std::vector<uint8_t> garbage(size);
    for (auto& b : garbage) b = static_cast<uint8_t>(random());
    // A valid ELF64 x86_64 identification in front of garbage is the harder case.
    const uint8_t ident[] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, EV_CURRENT};
    std::memcpy(garbage.data(), ident, std::min(sizeof ident, size));
    EXPECT_EQ(parse_anything(garbage, "garbage-" + std::to_string(size)), Outcome::Rejected);
  }
}

}  // namespace
}  // namespace hotpatch

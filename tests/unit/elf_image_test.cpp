// ElfImage against the unit fixtures, this test binary, the system libc and small
// libraries compiled on the spot.
#include "elf/elf_image.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

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

constexpr const char* kLibc = "/lib/x86_64-linux-gnu/libc.so.6";

const ElfSymbol& only_symbol(const ElfImage& image, const std::string& name) {
  auto found = image.find_symbols(name);
  if (found.size() != 1) throw std::runtime_error(name + ": expected exactly one symbol");
  return *found.front();
}

bool is_lower_hex(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// The build-id as readelf prints it, for an independent opinion.
std::string readelf_build_id(const std::string& path) {
  std::smatch match;
  std::string notes = capture("readelf -n '" + path + "' 2>/dev/null");
  static const std::regex kBuildId("Build ID: ([0-9a-f]+)");
  return std::regex_search(notes, match, kBuildId) ? match[1].str() : "";
}

// Expects `fn` to throw hotpatch::Error(BadPatchFile) whose message has `phrase`.
template <typename Fn>
void expect_bad_file(Fn&& fn, const std::string& phrase) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << phrase << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadPatchFile) << e.what();
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
  }
}

TEST(ElfImage, FixtureHeaders) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  EXPECT_EQ(image.path(), fixture("patch_full"));
  EXPECT_EQ(image.elf_type(), ET_DYN);
  EXPECT_TRUE(image.is_pie_or_shared());
  EXPECT_TRUE(image.has_symtab());
  EXPECT_EQ(image.soname(), "patch_full.so");  // CMake links shared objects with -soname
  EXPECT_FALSE(image.debuglink().has_value());
  ASSERT_TRUE(image.build_id().has_value());
  EXPECT_EQ(*image.build_id(), readelf_build_id(fixture("patch_full")));
}

TEST(ElfImage, LoadSegmentsLieInsideTheFile) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  const uint64_t file_size = std::filesystem::file_size(fixture("patch_full"));
  bool executable = false, writable = false;
  for (const ElfSegment& seg : image.load_segments()) {
    EXPECT_LE(seg.offset + seg.filesz, file_size);
    EXPECT_LE(seg.filesz, seg.memsz);
    executable = executable || (seg.flags & PF_X) != 0;
    writable = writable || (seg.flags & PF_W) != 0;
  }
  EXPECT_TRUE(executable);
  EXPECT_TRUE(writable);
}

TEST(ElfImage, FixtureSymbols) {
  ElfImage image = ElfImage::open(fixture("patch_full"));

  // Global: in both tables, reported once.
  const ElfSymbol& compute = only_symbol(image, "compute_v2");
  EXPECT_EQ(compute.type, STT_FUNC);
  EXPECT_EQ(compute.bind, STB_GLOBAL);
  EXPECT_TRUE(compute.dynamic);
  EXPECT_GT(compute.size, 0u);
  EXPECT_NE(compute.section_index, SHN_UNDEF);

  // Static: .symtab only, with the file it came from.
  const ElfSymbol& scale = only_symbol(image, "scale_v2");
  EXPECT_EQ(scale.bind, STB_LOCAL);
  EXPECT_FALSE(scale.dynamic);
  EXPECT_EQ(scale.source_file, "patch_full.c");

  const ElfSymbol& slot = only_symbol(image, "counter_ref");
  EXPECT_EQ(slot.type, STT_OBJECT);
  EXPECT_EQ(slot.size, 8u);

  // Undefined imports, section and file symbols are not symbols of this image.
  EXPECT_TRUE(image.find_symbols("__cxa_finalize").empty());
  for (const ElfSymbol& sym : image.symbols()) {
    EXPECT_FALSE(sym.name.empty());
    EXPECT_NE(sym.type, STT_SECTION) << sym.name;
    EXPECT_NE(sym.type, STT_FILE) << sym.name;
    EXPECT_NE(sym.section_index, SHN_UNDEF) << sym.name;
  }
  EXPECT_TRUE(image.find_symbols("no_such_symbol").empty());
}

TEST(ElfImage, FunctionContaining) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  const ElfSymbol& compute = only_symbol(image, "compute_v2");
  EXPECT_EQ(image.function_containing(compute.value), &compute);
  EXPECT_EQ(image.function_containing(compute.value + compute.size - 1), &compute);
  EXPECT_NE(image.function_containing(compute.value + compute.size), &compute);
  EXPECT_EQ(image.function_containing(0), nullptr);
  EXPECT_EQ(image.function_containing(~uint64_t{0}), nullptr);
}

TEST(ElfImage, ReadVaddrAndCstring) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  auto hotpatch = image.section(".hotpatch");
  ASSERT_TRUE(hotpatch.has_value());
  auto bytes = image.read_vaddr(hotpatch->addr, 32);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_TRUE(std::equal(bytes->begin(), bytes->end(), hotpatch->data.begin()));

  // counter_ref lives in .bss, which has no file bytes.
  EXPECT_FALSE(image.read_vaddr(only_symbol(image, "counter_ref").value, 8).has_value());
  EXPECT_FALSE(image.read_vaddr(~uint64_t{0} - 3, 8).has_value());
  // Up to the last file-backed byte of a segment, and not one byte further.
  const ElfSegment& first = image.load_segments().front();
  ASSERT_GE(first.filesz, 8u);
  EXPECT_TRUE(image.read_vaddr(first.vaddr + first.filesz - 8, 8).has_value());
  EXPECT_FALSE(image.read_vaddr(first.vaddr + first.filesz - 4, 8).has_value());

  auto name_pointer = image.relocated_pointer(hotpatch->addr + 8);
  ASSERT_TRUE(name_pointer.has_value());
  auto name = image.read_cstring(*name_pointer);
  ASSERT_TRUE(name.has_value());
  EXPECT_FALSE(name->empty());
  // Too short a limit leaves the string unterminated.
  EXPECT_FALSE(image.read_cstring(*name_pointer, name->size()).has_value());
  EXPECT_EQ(image.read_cstring(*name_pointer, name->size() + 1), name);
}

TEST(ElfImage, Sections) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  auto hotpatch = image.section(".hotpatch");
  ASSERT_TRUE(hotpatch.has_value());
  EXPECT_EQ(hotpatch->type, SHT_PROGBITS);
  EXPECT_EQ(hotpatch->data.size(), hotpatch->size);
  EXPECT_EQ(hotpatch->size, 8u * 32u);  // 8 records in patch_full.c
  auto file = read_bytes(fixture("patch_full"));
  EXPECT_TRUE(std::equal(hotpatch->data.begin(), hotpatch->data.end(), file.begin() + hotpatch->offset));

  auto bss = image.section(".bss");
  ASSERT_TRUE(bss.has_value());
  EXPECT_EQ(bss->type, SHT_NOBITS);
  EXPECT_TRUE(bss->data.empty());
  EXPECT_GT(bss->size, 0u);
  EXPECT_FALSE(image.section(".no-such-section").has_value());
}

// Offsets of dynamic relocations of one type, from readelf.
std::set<uint64_t> readelf_relocations(const std::string& path, const std::string& type) {
  std::set<uint64_t> offsets;
  std::istringstream table(capture("readelf -rW '" + path + "'"));
  const std::regex entry("^([0-9a-f]+) +[0-9a-f]+ +" + type + " ");
  std::smatch match;
  for (std::string line; std::getline(table, line);) {
    if (std::regex_search(line, match, entry)) offsets.insert(std::stoull(match[1].str(), nullptr, 16));
  }
  return offsets;
}

TEST(ElfImage, RelocatedPointersOfRecords) {
  ElfImage image = ElfImage::open(fixture("patch_full"));
  auto hotpatch = image.section(".hotpatch");
  ASSERT_TRUE(hotpatch.has_value());
  const uint64_t compute = only_symbol(image, "compute_v2").value;
  const uint64_t scale = only_symbol(image, "scale_v2").value;

  std::set<std::string> names;
  bool found_compute = false, found_scale = false;
  for (uint64_t at = hotpatch->addr; at < hotpatch->addr + hotpatch->size; at += 32) {
    EXPECT_FALSE(image.relocated_pointer(at).has_value()) << "magic/version/kind are plain data";
    auto name = image.relocated_pointer(at + 8);
    ASSERT_TRUE(name.has_value());
    names.insert(image.read_cstring(*name).value_or("<unreadable>"));
    auto addr = image.relocated_pointer(at + 16);
    found_compute = found_compute || addr == compute;
    found_scale = found_scale || addr == scale;
  }
  EXPECT_EQ(names, (std::set<std::string>{"fix-compute", "CVE-0000-0000: compute overflows",
                                           "3F2A00112233445566778899AABBCCDDEEFF0011", "libfoo.so.1", "counter",
                                           "helper", "compute", "_ZN3foo5scaleEi"}));
  EXPECT_TRUE(found_compute);
  EXPECT_TRUE(found_scale);

  // The fixture exercises both kinds: the global's pointer is symbolic, the static's relative.
  auto symbolic = readelf_relocations(fixture("patch_full"), "R_X86_64_64");
  ASSERT_EQ(symbolic.size(), 1u);
  EXPECT_EQ(image.relocated_pointer(*symbolic.begin()), compute);
  auto relative = readelf_relocations(fixture("patch_full"), "R_X86_64_RELATIVE");
  EXPECT_FALSE(relative.empty());
  // GOT entries for undefined imports cannot be resolved from the file.
  auto glob_dat = readelf_relocations(fixture("patch_full"), "R_X86_64_GLOB_DAT");
  ASSERT_FALSE(glob_dat.empty());
  for (uint64_t offset : glob_dat) EXPECT_FALSE(image.relocated_pointer(offset).has_value());
}

TEST(ElfImage, RelocationAgainstUndefinedSymbolIsUnresolved) {
  ElfImage image = ElfImage::open(fixture("bad_replace_undefined"));
  auto symbolic = readelf_relocations(fixture("bad_replace_undefined"), "R_X86_64_64");
  ASSERT_EQ(symbolic.size(), 1u);
  EXPECT_FALSE(image.relocated_pointer(*symbolic.begin()).has_value());
}

TEST(ElfImage, ThisTestBinary) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  ElfImage image = ElfImage::open("/proc/self/exe");
  EXPECT_TRUE(image.is_pie_or_shared());  // Debian's gcc builds PIE by default
  EXPECT_TRUE(image.has_symtab());
  auto mains = image.find_symbols("main");
  ASSERT_EQ(mains.size(), 1u);
  EXPECT_EQ(mains.front()->type, STT_FUNC);
  EXPECT_EQ(image.function_containing(mains.front()->value), mains.front());

  ASSERT_TRUE(image.build_id().has_value());
  EXPECT_EQ(image.build_id()->size(), 40u);  // ld's default: sha1
  EXPECT_TRUE(is_lower_hex(*image.build_id()));
  EXPECT_EQ(*image.build_id(), readelf_build_id(self));

  // And from the raw note: namesz, descsz, type, "GNU\0", then the id itself.
  auto note = image.section(".note.gnu.build-id");
  ASSERT_TRUE(note.has_value());
  ASSERT_GE(note->data.size(), 16u);
  uint32_t desc_size;
  std::memcpy(&desc_size, note->data.data() + 4, 4);
  ASSERT_EQ(note->data.size(), 16u + desc_size);
  EXPECT_EQ(*image.build_id(), to_hex({note->data.begin() + 16, note->data.end()}));
}

TEST(ElfImage, SystemLibc) {
  ElfImage libc = ElfImage::open(kLibc);
  EXPECT_EQ(libc.soname(), "libc.so.6");
  EXPECT_TRUE(libc.is_pie_or_shared());
  EXPECT_TRUE(libc.build_id().has_value());

  auto dlopen = libc.find_symbols("dlopen");
  ASSERT_FALSE(dlopen.empty());
  for (const ElfSymbol* sym : dlopen) {
    EXPECT_TRUE(sym->dynamic);
    EXPECT_EQ(sym->type, STT_FUNC);
  }
  auto strlen = libc.find_symbols("strlen");
  ASSERT_FALSE(strlen.empty());
  for (const ElfSymbol* sym : strlen) EXPECT_EQ(sym->type, STT_GNU_IFUNC);
}

// Two files, each with its own `static int helper(void)`, in one library.
class CompiledLibrary : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_.file("a.c"),
               "__attribute__((noinline)) static int helper(void) { return 1; }\n"
               "int call_a(void) { return helper() + 10; }\n");
    write_text(dir_.file("b.c"),
               "__attribute__((noinline)) static int helper(void) { return 2; }\n"
               "int call_b(void) { return helper() + 20; }\n");
    library_ = dir_.file("libtwo.so");
    ASSERT_EQ(run("cd '" + dir_.path() + "' && cc -shared -fPIC -O1 -Wl,-soname,libtwo.so.1 a.c b.c -o " +
                  library_),
              0);
  }

  TempDir dir_;
  std::string library_;
};

TEST_F(CompiledLibrary, StaticFunctionsWithTheSameName) {
  ElfImage image = ElfImage::open(library_);
  EXPECT_EQ(image.soname(), "libtwo.so.1");
  auto helpers = image.find_symbols("helper");
  ASSERT_EQ(helpers.size(), 2u);
  std::set<std::string> files;
  for (const ElfSymbol* sym : helpers) {
    EXPECT_EQ(sym->bind, STB_LOCAL);
    EXPECT_FALSE(sym->dynamic);
    files.insert(sym->source_file);
  }
  EXPECT_EQ(files, (std::set<std::string>{"a.c", "b.c"}));
  EXPECT_NE(helpers[0]->value, helpers[1]->value);
}

TEST_F(CompiledLibrary, DebuglinkAndMergedDebugSymbols) {
  const std::string debug = dir_.file("libtwo.debug"), stripped = dir_.file("libtwo-stripped.so");
  ASSERT_EQ(run("objcopy --only-keep-debug " + library_ + " " + debug), 0);
  ASSERT_EQ(run("cd '" + dir_.path() + "' && objcopy --strip-all --add-gnu-debuglink=libtwo.debug " + library_ +
                " " + stripped),
            0);

  ElfImage image = ElfImage::open(stripped);
  EXPECT_FALSE(image.has_symtab());
  EXPECT_EQ(image.debuglink(), "libtwo.debug");
  EXPECT_TRUE(image.find_symbols("helper").empty());
  ASSERT_EQ(image.find_symbols("call_a").size(), 1u);  // exported: still in .dynsym

  ElfImage debug_image = ElfImage::open(debug);
  EXPECT_EQ(debug_image.build_id(), image.build_id());
  image.merge_symbols_from(debug_image);
  EXPECT_EQ(image.find_symbols("helper").size(), 2u);
  auto call_a = image.find_symbols("call_a");
  ASSERT_EQ(call_a.size(), 1u) << "a symbol known from .dynsym is not added twice";
  EXPECT_TRUE(call_a.front()->dynamic);
  const ElfSymbol* helper = image.find_symbols("helper").front();
  EXPECT_EQ(image.function_containing(helper->value), helper);
}

TEST_F(CompiledLibrary, MergeRefusesADebugFileOfAnotherBuild) {
  ElfImage image = ElfImage::open(library_);
  ElfImage other = ElfImage::open(kLibc);
  EXPECT_THROW(image.merge_symbols_from(other), Error);
}

TEST(ElfImage, RejectsWhatIsNotAnX86_64Elf64File) {
  TempDir dir;
  expect_bad_file([&] { ElfImage::open(dir.file("missing.so")); }, "No such file or directory");
  expect_bad_file([&] { ElfImage::open(dir.path()); }, "Is a directory");
  expect_bad_file([] { ElfImage::from_bytes({}, "empty.so"); }, "empty.so: not an ELF file");
  expect_bad_file([] { ElfImage::from_bytes({'#', '!', '/', 'b', 'i', 'n'}, "script"); }, "not an ELF file");

  auto good = read_bytes(fixture("patch_minimal"));
  auto elf32 = good;
  elf32[EI_CLASS] = ELFCLASS32;
  expect_bad_file([&] { ElfImage::from_bytes(elf32, "elf32.so"); }, "elf32.so: not an x86_64 ELF64 file");
  auto big_endian = good;
  big_endian[EI_DATA] = ELFDATA2MSB;
  expect_bad_file([&] { ElfImage::from_bytes(big_endian, "be.so"); }, "not an x86_64 ELF64 file");
  auto aarch64 = good;
  uint16_t machine = EM_AARCH64;
  std::memcpy(aarch64.data() + offsetof(Elf64_Ehdr, e_machine), &machine, 2);
  expect_bad_file([&] { ElfImage::from_bytes(aarch64, "arm.so"); }, "not an x86_64 ELF64 file (machine 183)");

  auto headers_cut = good;
  headers_cut.resize(good.size() - 100);  // the section header table is at the end
  expect_bad_file([&] { ElfImage::from_bytes(headers_cut, "cut.so"); }, "cut.so: ");
}

TEST(ElfImage, OpenAndFromBytesAgree) {
  ElfImage opened = ElfImage::open(fixture("patch_full"));
  ElfImage in_memory = ElfImage::from_bytes(read_bytes(fixture("patch_full")), "memory");
  EXPECT_EQ(in_memory.path(), "memory");
  EXPECT_EQ(opened.build_id(), in_memory.build_id());
  EXPECT_EQ(opened.symbols().size(), in_memory.symbols().size());
  EXPECT_EQ(opened.load_segments().size(), in_memory.load_segments().size());

  ElfImage moved = std::move(in_memory);
  EXPECT_EQ(moved.path(), "memory");
  EXPECT_EQ(moved.find_symbols("compute_v2").size(), 1u);
}

TEST(ElfImage, ToHex) {
  EXPECT_EQ(to_hex({}), "");
  EXPECT_EQ(to_hex({0x00, 0x0f, 0xa5, 0xff}), "000fa5ff");
}

}  // namespace
}  // namespace hotpatch

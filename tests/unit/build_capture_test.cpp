// Build capture for `hotpatch create`: which executables are compilers, what a
// compiler command does and what is added to it, and reading what the wrapper
// recorded (dependency files, linker maps, archives).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "creator/build_record.h"
#include "creator/capture/compiler_names.h"
#include "creator/compile_args.h"

using namespace hotpatch::creator;
namespace fs = std::filesystem;

TEST(CompilerNames, DriversWithPrefixesAndVersions) {
  for (const char* name : {"gcc", "g++", "cc", "c++", "clang", "clang++", "gcc-12", "gcc-13", "g++-13",
                           "x86_64-linux-gnu-gcc-12", "x86_64-linux-gnu-g++", "clang-14", "clang++-14.0.6",
                           "aarch64-linux-gnu-gcc", "c89-gcc"})
    EXPECT_TRUE(hp_is_compiler_name(name)) << name;
  for (const char* name : {"gcc-ar", "gcc-nm-12", "x86_64-linux-gnu-gcc-ranlib-12", "clang-cpp", "clang-format",
                           "clang-tidy-14", "ccache", "make", "ld", "as", "cc1", "gccgo", "sh", "12", "-12", ""})
    EXPECT_FALSE(hp_is_compiler_name(name)) << name;
  EXPECT_TRUE(hp_is_launcher_name("ccache"));
  EXPECT_FALSE(hp_is_launcher_name("gcc"));
}

TEST(CompileArgs, CompileWithOutputAndOwnDepfile) {
  auto a = parse_compile_args({"-O2", "-MT", "x.o", "-MD", "-MP", "-MF", ".deps/x.Tpo", "-c", "-o", "x.o", "x.c"});
  EXPECT_EQ(a.kind, CommandKind::Compile);
  EXPECT_EQ(a.sources, std::vector<std::string>{"x.c"});
  EXPECT_EQ(a.outputs, std::vector<std::string>{"x.o"});
  EXPECT_TRUE(a.wants_depfile);
  EXPECT_EQ(a.project_depfile, ".deps/x.Tpo");
  // The project's dependency file is left alone: no second -MD/-MF.
  auto extra = added_flags(a, "/cap/1.d", "/cap/1.map", "/w/tree=/src");
  EXPECT_EQ(extra, (std::vector<std::string>{"-ffunction-sections", "-fdata-sections", "-g", "-ffile-prefix-map=/w/tree=/src"}));
}

TEST(CompileArgs, DebugInfoAddedOnlyWhenTheProjectHasNone) {
  auto has_g = [](const std::vector<std::string>& args) {
    auto extra = added_flags(parse_compile_args(args), "", "", "");
    return std::find(extra.begin(), extra.end(), "-g") != extra.end();
  };
  EXPECT_TRUE(has_g({"-O2", "-c", "x.c"}));
  EXPECT_FALSE(has_g({"-O2", "-g", "-c", "x.c"}));
  EXPECT_FALSE(has_g({"-ggdb3", "-c", "x.c"}));
  EXPECT_FALSE(has_g({"-gdwarf-4", "-c", "x.c"}));
  EXPECT_TRUE(has_g({"-g", "-O2", "-g0", "-c", "x.c"}));  // the last -g option decides
  EXPECT_FALSE(has_g({"-o", "app", "main.o"}));           // a link: nothing to describe
}

TEST(CompileArgs, DerivedNames) {
  auto a = parse_compile_args({"-c", "src/calc.c", "-MMD"});
  EXPECT_EQ(a.outputs, std::vector<std::string>{"calc.o"});
  EXPECT_EQ(a.project_depfile, "calc.d");
  auto b = parse_compile_args({"-MD", "-c", "calc.c", "-o", "CMakeFiles/app.dir/calc.c.o"});
  EXPECT_EQ(b.project_depfile, "CMakeFiles/app.dir/calc.c.d");
  auto c = parse_compile_args({"-c", "a.c", "b.cpp"});
  EXPECT_EQ(c.outputs, (std::vector<std::string>{"a.o", "b.o"}));
}

TEST(CompileArgs, OursWhenTheProjectHasNone) {
  auto a = parse_compile_args({"-I", "inc", "-D", "X=1", "-c", "calc.c"});
  EXPECT_EQ(a.kind, CommandKind::Compile);
  EXPECT_EQ(a.sources, std::vector<std::string>{"calc.c"});  // inc and X=1 are option values
  auto extra = added_flags(a, "/cap/1.d", "/cap/1.map", "");
  EXPECT_EQ(extra, (std::vector<std::string>{"-ffunction-sections", "-fdata-sections", "-g", "-MD", "-MF", "/cap/1.d"}));
  auto own_map = parse_compile_args({"-c", "x.c", "-fdebug-prefix-map=/a=/b"});
  EXPECT_TRUE(own_map.has_prefix_map);
}

TEST(CompileArgs, MmdRunsAsMd) {
  EXPECT_EQ(arguments_as_run({"-MMD", "-MP", "-MF", "x.d", "-D", "-MMD", "-c", "x.c"}),
            (std::vector<std::string>{"-MD", "-MP", "-MF", "x.d", "-D", "-MMD", "-c", "x.c"}));
}

TEST(CompileArgs, LinksAndOtherCommands) {
  auto link = parse_compile_args({"-O2", "-o", "app", "main.o", "calc.o", "-Llib", "-lm", ".libs/libconv.a"});
  EXPECT_EQ(link.kind, CommandKind::Link);
  EXPECT_EQ(link.outputs, std::vector<std::string>{"app"});
  EXPECT_EQ(added_flags(link, "/cap/1.d", "/cap/1.map", "x=y").back(), "-Wl,-Map=/cap/1.map");
  auto own = parse_compile_args({"-o", "app", "main.o", "-Wl,-Map,app.map"});
  EXPECT_EQ(own.project_map, "app.map");
  EXPECT_EQ(added_flags(own, "", "/cap/1.map", "").size(), 2u);
  for (auto args : std::vector<std::vector<std::string>>{
           {"--version"}, {"-E", "x.c"}, {"-M", "x.c"}, {"-S", "x.c", "-o", "x.s"}, {"-dumpversion"}, {"-print-prog-name=ld"}})
    EXPECT_EQ(parse_compile_args(args).kind, CommandKind::Other) << args[0];
  EXPECT_TRUE(parse_compile_args({"-flto=auto", "-c", "x.c"}).lto);
  EXPECT_FALSE(parse_compile_args({"-flto", "-fno-lto", "-c", "x.c"}).lto);
}

TEST(Depfile, PrerequisitesWithEscapesAndContinuations) {
  std::string text =
      "calc.o: calc.c /usr/include/stdio.h \\\n"
      "  inc/my\\ header.h calc.h\n"
      "calc.h:\n"
      "inc/my\\ header.h:\n";
  auto deps = parse_depfile(text, "/w/tree");
  EXPECT_EQ(deps, (std::vector<std::string>{"/usr/include/stdio.h", "/w/tree/calc.c", "/w/tree/calc.h",
                                            "/w/tree/inc/my header.h"}));
}

TEST(LinkMap, ObjectsAndArchiveMembers) {
  std::string text =
      "Archive member included to satisfy reference by file (symbol)\n"
      "\n"
      "./sub/libx.a(f.o)             m.o (f)\n"
      "sub/libx.a(averyveryveryverylongname_g.o)\n"
      "                              (--whole-archive)\n"
      "\n"
      "As-needed library included to satisfy reference by file (symbol)\n"
      "\n"
      "libc.so.6                     /usr/lib/x86_64-linux-gnu/Scrt1.o (__libc_start_main@@GLIBC_2.34)\n"
      "\n"
      "Linker script and memory map\n"
      "\n"
      "LOAD /usr/lib/x86_64-linux-gnu/Scrt1.o\n"
      "LOAD m.o\n"
      "LOAD ./sub/libx.a\n"
      "LOAD /lib/x86_64-linux-gnu/libc.so.6\n";
  LinkMap map = parse_link_map(text, "/w/tree");
  EXPECT_EQ(map.objects, (std::vector<std::string>{"/usr/lib/x86_64-linux-gnu/Scrt1.o", "/w/tree/m.o"}));
  ASSERT_EQ(map.members.size(), 2u);
  EXPECT_EQ(map.members[0], (std::pair<std::string, std::string>{"/w/tree/sub/libx.a", "f.o"}));
  EXPECT_EQ(map.members[1].second, "averyveryveryverylongname_g.o");
}

namespace {
std::string scratch_dir() {
  std::string pattern = (fs::temp_directory_path() / "build_capture_test.XXXXXX").string();
  char* d = mkdtemp(pattern.data());
  return d ? d : "";
}
void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}
}  // namespace

TEST(BuildRecords, ArchiveMembersMatchedByContent) {
  std::string dir = scratch_dir();
  ASSERT_FALSE(dir.empty());
  // Two compiles of the same source (libtool: PIC and not), an archive of one of
  // them, a program linked with the archive and a third object.
  write(dir + "/conv.c", "int conv(int x) { return x + 1; }\n");
  write(dir + "/main.c", "int conv(int); int main(void) { return conv(1); }\n");
  std::string cmd = "cd " + dir + " && mkdir -p .libs && cc -c conv.c -o conv.o && cc -fPIC -DPIC -c conv.c -o .libs/conv.o"
                    " && cc -c main.c -o main.o && ar cr .libs/libconv.a .libs/conv.o"
                    " && cc -o app main.o .libs/libconv.a -Wl,-Map=app.map";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string records;
  for (const char* o : {"conv.o", ".libs/conv.o", "main.o"})
    records += "{\"kind\":\"compile\",\"cwd\":\"" + dir + "\",\"argv\":[\"cc\"],\"outputs\":[\"" + dir + "/" + o + "\"]}\n";
  records += "{\"kind\":\"link\",\"cwd\":\"" + dir + "\",\"outputs\":[\"" + dir + "/app\"],\"map\":\"" + dir + "/app.map\"}\n";
  records += "{\"kind\":\"compile\",\"cwd\":\"" + dir;  // cut short by a killed build: skipped
  write(dir + "/cap/records.jsonl", records);
  BuildRecords r = BuildRecords::read(dir + "/cap");
  ASSERT_NE(r.link_of(dir + "/app"), nullptr);
  LinkedObjects linked = objects_linked_into(r, *r.link_of(dir + "/app"), dir);
  EXPECT_EQ(linked.objects, (std::vector<std::string>{dir + "/.libs/conv.o", dir + "/main.o"}));
  EXPECT_TRUE(linked.unrecorded.empty());
  auto members = read_archive(dir + "/.libs/libconv.a");
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].first, "conv.o");
  fs::remove_all(dir);
}

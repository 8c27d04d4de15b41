#include "creator/creator.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "common/error.h"
#include "creator/hooks.h"
#include "creator/object_file.h"
#include "creator/work_tree.h"
#include "elf/elf_image.h"
#include "elf/patch_file.h"

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {

std::string default_id(const std::string& output) {
  std::string base = fs::path(output).filename().string();
  if (base.size() > 3 && base.ends_with(".so")) base.resize(base.size() - 3);
  return base;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A shared library (ET_DYN without a program interpreter, unlike a PIE) is found
// in the running process by its soname, as the dynamic linker loaded it; the patch
// names it so the loader looks the symbols up there and maps the patch near it.
std::string library_name(const ElfImage& binary, const std::string& relpath) {
  if (!binary.is_pie_or_shared() || binary.section(".interp")) return "";
  return binary.soname().value_or(fs::path(relpath).filename().string());
}

}  // namespace

CreateResult create_patch(const CreateOptions& options) {
  auto started = std::chrono::steady_clock::now();
  CreateResult result;
  if (!fs::is_directory(options.source_dir))
    throw Error(ErrorKind::Usage, fmt::format("--src {}: not a directory", options.source_dir));
  const std::string source = fs::canonical(options.source_dir).string();
  const std::string diff = fs::absolute(options.diff).string();
  if (!fs::is_regular_file(diff)) throw Error(ErrorKind::Usage, fmt::format("--diff {}: no such file", options.diff));
  const std::string binary_path = source + "/" + options.binary;
  if (!fs::is_regular_file(binary_path))
    throw Error(ErrorKind::Usage, fmt::format("--binary {}: no such file in {} (build the tree first: the patch is "
                                              "for the program you run)", options.binary, source));
  ElfImage binary = ElfImage::open(binary_path);
  if (!binary.has_symtab())
    throw Error(ErrorKind::DoesNotFit, fmt::format("{}: has no symbol table (stripped); keep it, or install its debug "
                                                   "file", binary_path));
  result.build_id = binary.build_id().value_or("");
  result.object = library_name(binary, options.binary);

  WorkTree work(source, options.work_dir);
  result.rebuilt_from_scratch = work.prepare(options.build_command);
  auto unpatched = work.objects();
  if (unpatched.empty())
    throw Error(ErrorKind::Usage, fmt::format("the build '{}' leaves no object files (.o) to compare", options.build_command));
  std::string orig_dir = work.dir() + "/unpatched-objects";
  fs::remove_all(orig_dir);
  for (const auto& [rel, bytes] : unpatched) write_file(orig_dir + "/" + rel, bytes);

  work.apply_diff(diff, false);
  std::map<std::string, std::vector<uint8_t>> patched;
  try {
    work.build(options.build_command, "the patched tree");
    patched = work.objects();
  } catch (...) {
    work.apply_diff(diff, true);
    throw;
  }
  // Put the tree back, so a kept work directory stays the unpatched build: the
  // sources by reversing the diff, the objects by writing back the saved ones (newer
  // than the sources now, so make keeps them) instead of building a third time.
  work.apply_diff(diff, true);
  if (options.work_dir) {
    for (const auto& [rel, bytes] : patched) {
      auto before = unpatched.find(rel);
      if (before == unpatched.end()) fs::remove(work.tree() + "/" + rel);
      else if (before->second != bytes) write_file(work.tree() + "/" + rel, before->second);
    }
  }

  std::ifstream diff_in(diff);
  std::string diff_text((std::istreambuf_iterator<char>(diff_in)), std::istreambuf_iterator<char>());
  PatchBuilder builder(binary, parse_line_moves(diff_text));
  std::string patched_dir = work.dir() + "/patched-objects";
  fs::remove_all(patched_dir);
  size_t changed_objects = 0;
  for (const auto& [rel, bytes] : patched) {
    auto before = unpatched.find(rel);
    if (before != unpatched.end() && before->second == bytes) continue;
    ++changed_objects;
    write_file(patched_dir + "/" + rel, bytes);
    if (before == unpatched.end()) {
      result.report.refused.push_back(fmt::format("{}: a new source file; new files are not supported yet", rel));
      continue;
    }
    builder.add_unit(rel, ObjectFile::read(orig_dir + "/" + rel), ObjectFile::read(patched_dir + "/" + rel));
  }
  const CreateReport& report = builder.report();
  result.report.changed = report.changed;
  result.report.added_functions = report.added_functions;
  result.report.added_data = report.added_data;
  result.report.line_noise = report.line_noise;
  result.report.refused.insert(result.report.refused.end(), report.refused.begin(), report.refused.end());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!result.report.refused.empty()) return result;
  if (changed_objects == 0)
    throw Error(ErrorKind::DoesNotFit, fmt::format("the diff changes no function of {}: no object file changed (the "
                                                   "files it touches are not compiled in this configuration)",
                                                   options.binary));
  if (!builder.has_changes())
    throw Error(ErrorKind::DoesNotFit, fmt::format("the diff changes no function of {}", options.binary));

  std::string id = options.id.empty() ? default_id(options.output) : options.id;
  std::string description = options.description.empty() ? fs::path(diff).filename().string() : options.description;
  std::string asm_path = work.dir() + "/patch.s", obj_path = work.dir() + "/patch.o";
  std::ofstream(asm_path) << builder.assembly(id, description, result.build_id, result.object);
  std::string out = fs::absolute(options.output).string();
  std::string log = work.dir() + "/link.log";
  std::string hook_objects;
  if (options.hooks)
    for (const auto& o : build_hook_objects({fs::absolute(*options.hooks).string(), options.hooks_cflags}, work.tree(), work.dir()))
      hook_objects += " '" + o + "'";
  std::string cmd = fmt::format("cc -c -o '{}' '{}' && cc -shared -nostdlib -nostartfiles -Wl,-z,noexecstack -o '{}' '{}'{}",
                                obj_path, asm_path, out, obj_path, hook_objects);
  if (run_shell(cmd, work.dir(), log) != 0)
    throw Error(options.hooks ? ErrorKind::Usage : ErrorKind::Internal,
                fmt::format("{} failed:\n{}", options.hooks ? "linking the patch with the hook file" : "assembling the patch",
                            tail_of_file(log, 15)));
  try {
    read_patch_file(out);  // what we wrote must read back as a valid patch
  } catch (const Error& e) {
    if (!options.hooks) throw;
    throw Error(ErrorKind::Usage, fmt::format("{} (with the hook file {}: it may hold callbacks, HOTPATCH_SHADOW_ID, "
                                              "HOTPATCH_REF and helpers; the id, description, build-id and object are "
                                              "the patch's, set by create)", e.what(), *options.hooks));
  }
  result.output = out;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hotpatch::creator

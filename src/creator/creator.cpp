#include "creator/creator.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <elf.h>
#include <fmt/format.h>

#include "common/error.h"
#include "creator/build_record.h"
#include "creator/changed_objects.h"
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

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A shared library (ET_DYN without a program interpreter, unlike a PIE) is found
// in the running process by its soname, as the dynamic linker loaded it; the patch
// names it so the loader looks the symbols up there and maps the patch near it.
std::string library_name(const ElfImage& binary, const std::string& relpath) {
  if (!binary.is_pie_or_shared() || binary.section(".interp")) return "";
  return binary.soname().value_or(fs::path(relpath).filename().string());
}

// libtool links a program that uses a library of the project as .libs/NAME (or
// .libs/lt-NAME) and leaves a shell script at NAME that sets the library path.
void refuse_libtool_wrapper(const std::string& path, const std::string& relpath) {
  std::string head = read_text(path).substr(0, 4096);
  if (head.rfind("#!", 0) != 0) return;
  fs::path rel(relpath);
  std::string hint = head.find("libtool") != std::string::npos
                         ? fmt::format(": libtool's wrapper script; the program it runs is {}",
                                       (rel.parent_path() / ".libs" / rel.filename()).string())
                         : ": a script, not the program";
  throw Error(ErrorKind::Usage, fmt::format("--binary {}{}", relpath, hint));
}

// SOURCE_DATE_EPOCH for the builds: the user's, else the program's modification
// time (so __DATE__ in the rebuilt objects most likely reads as in the program).
std::string source_date_epoch(const std::string& binary_path) {
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) return e;
  struct stat st{};
  if (::stat(binary_path.c_str(), &st) != 0) return "1";
  return std::to_string(st.st_mtime);
}

std::string relative_to(const std::string& path, const std::string& root) {
  return fs::path(path).lexically_relative(root).string();
}

bool same_file_content(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  if (fs::file_size(a, ea) != fs::file_size(b, eb) || ea || eb) return false;
  return read_text(a) == read_text(b);
}

// The recorded link that made `path`: the one whose output it is, else one whose
// output has the same bytes (a build that copies the program elsewhere after
// linking it, `make && cp app bin/`). Only links with a linker map count.
const LinkRecord* link_of_binary(const BuildRecords& records, const std::string& path) {
  const LinkRecord* link = records.link_of(path);
  if (link && !link->map_file.empty() && fs::exists(link->map_file)) return link;
  for (const auto& [output, record] : records.links())
    if (!record.map_file.empty() && fs::exists(record.map_file) && fs::exists(output) && same_file_content(output, path))
      return &record;
  return nullptr;
}

// Where a create spends its time, on stderr when HOTPATCH_CREATE_TIMING is set
// (make bench, and anyone asking why a create is slow).
class PhaseTimer {
 public:
  PhaseTimer() : enabled_(std::getenv("HOTPATCH_CREATE_TIMING") != nullptr), last_(std::chrono::steady_clock::now()) {}
  void operator()(const char* phase) {
    auto now = std::chrono::steady_clock::now();
    if (enabled_) fmt::print(stderr, "create: {:<28} {:8.3f} s\n", phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point last_;
};

// The objects --binary is made of, from the link the unpatched build recorded.
nlohmann::json binary_objects(const WorkTree& work, const BuildRecords& records, const std::string& binary,
                              const std::string& build_command) {
  const std::string path = work.tree() + "/" + binary;
  if (!fs::exists(path))
    throw Error(ErrorKind::Usage, fmt::format("the build '{}' did not make {} in the work tree {} (is --binary the file "
                                              "the build links?)", build_command, binary, work.tree()));
  nlohmann::json out = {{"objects", nlohmann::json::array()}, {"unrecorded", nlohmann::json::array()}};
  const LinkRecord* link = link_of_binary(records, path);
  if (!link) {
    // Linked by something that is not a compiler driver (ld itself, a script):
    // every object the build compiled in the tree is a candidate.
    for (const auto& [output, record] : records.compiles())
      if (fs::exists(output) && output.rfind(work.tree() + "/", 0) == 0) out["objects"].push_back(relative_to(output, work.tree()));
    out["note"] = fmt::format("the link of {} was not seen (not made by a C/C++ compiler driver): every object the build "
                              "compiled is compared", binary);
    return out;
  }
  LinkedObjects linked = objects_linked_into(records, *link, work.tree());
  if (linked.objects.empty()) {
    std::string command;
    for (const auto& a : link->argv) command += (command.empty() ? "" : " ") + a;
    throw Error(ErrorKind::Usage, fmt::format("the link of {} ({}) uses no object file that the build compiled in the "
                                              "tree (compiled and linked in one command?); create compares object files: "
                                              "make the build compile each source to a .o", binary, command));
  }
  for (const auto& o : linked.objects) out["objects"].push_back(relative_to(o, work.tree()));
  for (const auto& u : linked.unrecorded) out["unrecorded"].push_back(relative_to(u, work.tree()));
  return out;
}

// Builds the unpatched tree into the cache: the build (recorded) and a snapshot of
// it. The state is written last.
nlohmann::json make_cache(WorkTree& work, const CacheKey& key, PhaseTimer& phase) {
  work.copy_source(key.binary);
  phase("copy the tree");
  work.fresh_records("unpatched");
  work.build(key.build_command, "the unpatched tree", "unpatched");
  phase("the build of the tree");
  BuildRecords unpatched = BuildRecords::read(work.records("unpatched"));
  nlohmann::json state = binary_objects(work, unpatched, key.binary, key.build_command);
  work.snapshot();
  work.commit_cache(key, state);
  phase("snapshot of the build");
  return state;
}

// One more build of the unchanged tree, to learn what varies from build to build
// (build noise) for `objects`: only their sources are made newer, so the build
// compiles them again (and whatever a regenerated header makes it compile), not
// the whole tree. Added to the cache's state. Leaves the tree as the cache.
void find_noise(WorkTree& work, const CacheKey& key, nlohmann::json& state, const BuildRecords& unpatched,
                const std::vector<std::string>& objects) {
  work.restore();
  std::vector<std::string> sources;
  for (const auto& rel : objects)
    if (const CompileRecord* how = unpatched.compile_of(work.tree() + "/" + rel))
      sources.insert(sources.end(), how->sources.begin(), how->sources.end());
  work.touch(sources);
  work.fresh_records("noise");
  work.build(key.build_command, "the unpatched tree again (to find build noise)", "noise");
  BuildRecords again = BuildRecords::read(work.records("noise"));
  BuildNoise noise = state.contains("noise") ? BuildNoise::from_json(state["noise"]) : BuildNoise{};
  noise.merge(find_build_noise(work, unpatched, again, objects));
  state["noise"] = noise.to_json();
  work.restore();
  work.commit_cache(key, state);
}

// The files a diff touches, relative to the tree (patch -p1).
std::vector<std::string> files_of_diff(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("+++ ", 0) != 0 && line.rfind("--- ", 0) != 0) continue;
    std::string name = line.substr(4);
    name = name.substr(0, name.find('\t'));
    if (name == "/dev/null") continue;
    size_t slash = name.find('/');
    out.push_back(slash == std::string::npos ? name : name.substr(slash + 1));
  }
  return out;
}

// What all the diffs together change, as one unified diff of the unpatched tree
// against the patched one: where lines moved, for __LINE__ (a series of diffs
// moves lines several times).
std::string combined_diff(const WorkTree& work, const std::vector<std::string>& diffs) {
  std::set<std::string> files;
  for (const auto& d : diffs)
    for (auto& f : files_of_diff(d)) files.insert(std::move(f));
  std::string out_path = work.dir() + "/combined.diff";
  std::ofstream(out_path, std::ios::trunc);
  for (const auto& f : files) {
    // diff exits 1 when the files differ; -N: a file only one side has is empty on the other
    run_shell(fmt::format("diff -uN --label a/{0} --label b/{0} {1} {2}; [ $? -le 1 ]", shell_quote(f),
                          shell_quote(work.base() + "/" + f), shell_quote(work.tree() + "/" + f)),
              work.dir(), out_path);
  }
  return read_text(out_path);
}

// An object that does not have one section per function cannot be cut function
// by function (and a call between two of its functions has no relocation to
// re-express): refused, with the command that built it.
std::optional<std::string> shared_function_section(const ObjectFile& obj) {
  std::map<uint32_t, std::map<uint64_t, std::string>> functions;  // section -> offset -> name
  for (const auto& s : obj.symbols())
    if (s.type == STT_FUNC && s.section != 0 && s.section < obj.sections().size()) functions[s.section].emplace(s.value, s.name);
  for (const auto& [section, by_offset] : functions) {
    if (by_offset.size() < 2 || !obj.sections()[section].is_code()) continue;
    auto it = by_offset.begin();
    std::string first = it->second, second = (++it)->second;
    return fmt::format("functions {} and {} share section {}", first, second, obj.sections()[section].name);
  }
  return std::nullopt;
}

void check_object(const ObjectFile& obj, const std::string& rel, const CompileRecord* how,
                  std::vector<std::string>& refused) {
  std::string command = how ? "command: " + how->command_line() : "no compile of it was seen in the build";
  for (const auto& section : obj.sections()) {
    if (section.name.rfind(".gnu.lto_", 0) != 0) continue;
    // GCC's intermediate code: the machine code is made when the program is linked,
    // across files, so none of it can be compared with or cut from the program.
    refused.push_back(fmt::format("{}: an LTO object (compiled with -flto; {}): its machine code is only made when the "
                                  "program is linked, so it cannot be compared with the running program; build and run "
                                  "the program without -flto to patch it live", rel, command));
    return;
  }
  auto shared = shared_function_section(obj);
  if (!shared) return;
  refused.push_back(fmt::format("{}: {} ({}): without one section per function, a call between them carries no "
                                "relocation and the code cannot be cut function by function; hotpatch adds "
                                "-ffunction-sections to every compiler it sees run (cc, gcc, g++, clang, any path or "
                                "version), so this object was made some other way or a section attribute in the source "
                                "puts them together", rel, *shared, command));
}

}  // namespace

CreateResult create_patch(const CreateOptions& options) {
  auto started = std::chrono::steady_clock::now();
  PhaseTimer phase;
  CreateResult result;
  if (!fs::is_directory(options.source_dir))
    throw Error(ErrorKind::Usage, fmt::format("--src {}: not a directory", options.source_dir));
  const std::string source = fs::canonical(options.source_dir).string();
  if (options.diffs.empty()) throw Error(ErrorKind::Usage, "no --diff given");
  std::vector<std::string> diffs;
  for (const auto& d : options.diffs) {
    diffs.push_back(fs::absolute(d).string());
    if (!fs::is_regular_file(diffs.back())) throw Error(ErrorKind::Usage, fmt::format("--diff {}: no such file", d));
  }
  const std::string binary_rel = fs::path(options.binary).lexically_normal().string();
  const std::string binary_path = source + "/" + binary_rel;
  if (!fs::is_regular_file(binary_path))
    throw Error(ErrorKind::Usage, fmt::format("--binary {}: no such file in {} (build the tree first: the patch is "
                                              "for the program you run)", options.binary, source));
  refuse_libtool_wrapper(binary_path, binary_rel);
  ElfImage binary = ElfImage::open(binary_path);
  if (!binary.has_symtab())
    throw Error(ErrorKind::DoesNotFit, fmt::format("{}: has no symbol table (stripped); keep it, or install its debug "
                                                   "file", binary_path));
  result.build_id = binary.build_id().value_or("");
  result.object = library_name(binary, options.binary);

  if (options.work_dir) {
    // (the copy of the tree would copy the work directory into itself)
    std::string work_abs = fs::weakly_canonical(*options.work_dir).string();
    if (work_abs == source || work_abs.rfind(source + "/", 0) == 0)
      throw Error(ErrorKind::Usage, fmt::format("--work {}: inside --src {}; put it elsewhere", *options.work_dir, source));
  }
  InterruptGuard interrupts;  // declared before the work tree: it is put back first
  WorkTree work(source, options.work_dir);
  phase("checks, reading the program");
  CacheKey key{source, options.build_command, binary_rel, result.build_id, source_state(source)};
  phase("source state");
  std::optional<nlohmann::json> state = work.valid_cache(key);
  if (state) {
    work.set_source_date_epoch(state->value("source_date_epoch", ""));
    work.restore();  // after a create that was cut short, the tree is the cache again
    phase("restore the work tree");
  } else {
    if (work.has_cache())
      result.notes.push_back(fmt::format("the work directory was made for another state of the tree or another build "
                                         "of {}; made again", binary_rel));
    work.set_source_date_epoch(source_date_epoch(binary_path));
    state = make_cache(work, key, phase);
    result.rebuilt_from_scratch = true;
  }
  const auto objects = (*state)["objects"].get<std::vector<std::string>>();
  if (state->contains("note")) result.notes.push_back((*state)["note"].get<std::string>());
  if (objects.empty())
    throw Error(ErrorKind::Usage, fmt::format("the build '{}' compiled no object file of {} in the work tree",
                                              options.build_command, options.binary));

  std::set<std::string> diff_files;
  for (const auto& d : diffs)
    for (auto& f : files_of_diff(d)) diff_files.insert(std::move(f));
  const BuildRecords unpatched = BuildRecords::read(work.records("unpatched"));
  BuildRecords patched;
  ChangedObjects changed;
  for (int attempt = 0;; ++attempt) {
    for (const auto& d : diffs) work.apply_diff(d);
    phase("apply the diffs");
    work.fresh_records("patched");
    work.build(options.build_command, "the patched tree", "patched");
    phase("patched build");
    patched = BuildRecords::read(work.records("patched"));
    const BuildNoise noise = state->contains("noise") ? BuildNoise::from_json((*state)["noise"]) : BuildNoise{};
    changed = find_changed_objects(work, unpatched, patched, objects, noise, diff_files, attempt == 0);
    phase("changed objects, recompiles");
    if (changed.needs_noise.empty()) break;
    // Something changed that the diffs do not explain: find out once what varies
    // between two builds of the unchanged tree for those objects, then build the
    // fix again.
    const auto& asked = changed.noise_objects;
    std::string which = fmt::format("{}", fmt::join(asked.begin(), asked.begin() + std::min<size_t>(asked.size(), 3), ", "));
    if (asked.size() > 3) which += fmt::format(" and {} more", asked.size() - 3);
    result.notes.push_back(fmt::format("{}: the unchanged tree was built once more to tell build noise from the fix, for "
                                       "{} (kept with --work)", changed.needs_noise, which));
    find_noise(work, key, *state, unpatched, changed.noise_objects);
    phase("noise build");
  }
  result.recompiled = changed.recompiled;
  for (const auto& n : changed.notes) result.notes.push_back(n);

  // New objects in the program (a source file the fix adds): compared with an
  // empty object, so that all they define is new, linked inside the patch like the
  // new functions and variables of a changed file.
  const std::set<std::string> known(objects.begin(), objects.end());
  std::vector<std::string> added_units;
  if (const LinkRecord* link = link_of_binary(patched, work.tree() + "/" + binary_rel)) {
    for (const auto& o : objects_linked_into(patched, *link, work.tree()).objects) {
      std::string rel = relative_to(o, work.tree());
      if (!known.count(rel)) added_units.push_back(rel);
    }
  }

  PatchBuilder builder(binary, parse_line_moves(combined_diff(work, diffs)));
  for (const auto& rel : changed.units) {
    ObjectFile before = ObjectFile::read(work.base() + "/" + rel);
    ObjectFile after = ObjectFile::read(work.tree() + "/" + rel);
    const size_t refusals = result.report.refused.size();
    check_object(before, rel, unpatched.compile_of(work.tree() + "/" + rel), result.report.refused);
    if (result.report.refused.size() == refusals) {
      const CompileRecord* how = patched.compile_of(work.tree() + "/" + rel);
      check_object(after, rel, how ? how : unpatched.compile_of(work.tree() + "/" + rel), result.report.refused);
    }
    if (result.report.refused.size() != refusals) continue;
    builder.add_unit(rel, std::move(before), std::move(after));
  }
  for (const auto& rel : added_units) {
    ObjectFile after = ObjectFile::read(work.tree() + "/" + rel);
    const size_t refusals = result.report.refused.size();
    check_object(after, rel, patched.compile_of(work.tree() + "/" + rel), result.report.refused);
    if (result.report.refused.size() != refusals) continue;
    result.added_files.push_back(rel);
    builder.add_unit(rel, ObjectFile::empty(rel + " (not in the program)"), std::move(after));
  }
  // The rest of the program, read only if a pass needs it (readers of a changed
  // constant in other files).
  const std::set<std::string> units(changed.units.begin(), changed.units.end());
  for (const auto& rel : objects)
    if (!units.count(rel)) builder.add_unchanged(rel, work.base() + "/" + rel);
  const CreateReport& report = builder.report();
  phase("comparison");
  result.report.changed = report.changed;
  result.report.added_functions = report.added_functions;
  result.report.added_data = report.added_data;
  result.report.line_noise = report.line_noise;
  for (const auto& n : report.notes) result.notes.push_back(n);
  result.report.refused.insert(result.report.refused.end(), report.refused.begin(), report.refused.end());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!result.report.refused.empty()) return result;
  if (changed.units.empty())
    throw Error(ErrorKind::DoesNotFit, fmt::format("the diff changes no function of {}: no object file of it changed (the "
                                                   "files it touches are not compiled into it in this configuration)",
                                                   options.binary));
  if (!builder.has_changes())
    throw Error(ErrorKind::DoesNotFit,
                fmt::format("the diff changes no function of {}: the objects it touches compile to the same code and "
                            "data as before (the change is in code this configuration leaves out, for another "
                            "platform, or in comments); there is nothing to patch live in this build",
                            options.binary));

  if (InterruptGuard::signal()) throw Error(ErrorKind::Internal, "interrupted");
  std::string id = options.id.empty() ? default_id(options.output) : options.id;
  std::string description = options.description;
  if (description.empty())
    for (const auto& d : diffs) description += (description.empty() ? "" : ", ") + fs::path(d).filename().string();
  std::string asm_path = work.dir() + "/patch.s", obj_path = work.dir() + "/patch.o";
  std::ofstream(asm_path) << builder.assembly(id, description, result.build_id, result.object);
  std::string out = fs::absolute(options.output).string();
  std::string log = work.dir() + "/link.log";
  std::string hook_objects;
  if (options.hooks) {
    HookFile hooks{fs::absolute(*options.hooks).string(), options.hooks_cflags, {}, {}};
    // The project's header flags, as the first changed object was compiled with them
    // (docs/creator.md#hook-files).
    const CompileRecord* how = patched.compile_of(work.tree() + "/" + changed.units.front());
    if (!how) how = unpatched.compile_of(work.tree() + "/" + changed.units.front());
    if (how) {
      hooks.project_flags = header_flags(*how);
      hooks.project_cwd = how->cwd;
      result.notes.push_back(fmt::format("the hook file is compiled with the header flags of {}: {}", changed.units.front(),
                                         hooks.project_flags.empty() ? "none" : fmt::format("{}", fmt::join(hooks.project_flags, " "))));
    }
    for (const auto& o : build_hook_objects(hooks, work.tree(), work.dir())) hook_objects += " " + shell_quote(o);
  }
  std::string cmd = fmt::format("cc -c -o {} {} && cc -shared -nostdlib -nostartfiles -Wl,-z,noexecstack -o {} {}{}",
                                shell_quote(obj_path), shell_quote(asm_path), shell_quote(out), shell_quote(obj_path),
                                hook_objects);
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
  phase("assemble and link the patch");
  result.output = out;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace hotpatch::creator

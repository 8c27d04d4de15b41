#include "creator/changed_objects.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace hotpatch::creator {

namespace fs = std::filesystem;

namespace {

bool same_content(const std::string& a, const std::string& b) {
  std::error_code ea, eb;
  bool has_a = fs::is_regular_file(a, ea), has_b = fs::is_regular_file(b, eb);
  if (!has_a || !has_b) return has_a == has_b;
  if (fs::file_size(a, ea) != fs::file_size(b, eb)) return false;
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::vector<char> ba(1 << 16), bb(1 << 16);
  while (true) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount()) return false;
    if (fa.gcount() == 0) return true;
    if (!std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) return false;
  }
}

// `path` relative to `root`, or "" when it is outside (a system header).
std::string relative_inside(const std::string& path, const std::string& root) {
  if (path.size() <= root.size() || path.compare(0, root.size(), root) != 0 || path[root.size()] != '/') return "";
  return path.substr(root.size() + 1);
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

nlohmann::json BuildNoise::to_json() const {
  nlohmann::json a = nlohmann::json::object();
  for (const auto& [obj, positions] : args) a[obj] = positions;
  return {{"files", files},
          {"args", a},
          {"unstable_commands", unstable_commands},
          {"unexplained", unexplained},
          {"covered", covered}};
}

BuildNoise BuildNoise::from_json(const nlohmann::json& j) {
  BuildNoise n;
  if (!j.is_object()) return n;
  n.files = j.value("files", std::set<std::string>{});
  if (j.contains("args") && j["args"].is_object())
    for (const auto& [obj, positions] : j["args"].items()) n.args[obj] = positions.get<std::set<size_t>>();
  n.unstable_commands = j.value("unstable_commands", std::set<std::string>{});
  n.unexplained = j.value("unexplained", std::set<std::string>{});
  n.covered = j.value("covered", std::set<std::string>{});
  return n;
}

void BuildNoise::merge(const BuildNoise& other) {
  files.insert(other.files.begin(), other.files.end());
  for (const auto& [obj, positions] : other.args) args[obj].insert(positions.begin(), positions.end());
  unstable_commands.insert(other.unstable_commands.begin(), other.unstable_commands.end());
  unexplained.insert(other.unexplained.begin(), other.unexplained.end());
  covered.insert(other.covered.begin(), other.covered.end());
}

BuildNoise find_build_noise(const WorkTree& work, const BuildRecords& first, const BuildRecords& second,
                            const std::vector<std::string>& objects) {
  BuildNoise noise;
  noise.covered.insert(objects.begin(), objects.end());
  for (const auto& rel : objects) {
    const std::string path = work.tree() + "/" + rel;
    const CompileRecord* a = first.compile_of(path);
    const CompileRecord* b = second.compile_of(path);
    if (!a || !b) continue;  // not compiled again by the second build: no news
    bool explained = false;
    if (a->argv.size() != b->argv.size()) {
      noise.unstable_commands.insert(rel);
      explained = true;
    } else {
      for (size_t i = 0; i < a->argv.size(); ++i)
        if (a->argv[i] != b->argv[i]) noise.args[rel].insert(i);
      explained = noise.args.count(rel) > 0;
    }
    for (const auto& dep : first.dependencies(*a)) {
      std::string drel = relative_inside(dep, work.tree());
      if (drel.empty()) continue;
      if (!same_content(work.base() + "/" + drel, work.tree() + "/" + drel)) {
        noise.files.insert(drel);
        explained = true;
      }
    }
    if (!explained && !same_content(work.base() + "/" + rel, path)) noise.unexplained.insert(rel);
  }
  return noise;
}

ChangedObjects find_changed_objects(WorkTree& work, const BuildRecords& unpatched, const BuildRecords& patched,
                                    const std::vector<std::string>& objects, const BuildNoise& noise,
                                    const std::set<std::string>& diff_files, bool ask_noise) {
  ChangedObjects out;
  std::map<std::string, bool> file_changed;  // relative path -> differs from the base
  auto changed = [&](const std::string& rel) {
    auto it = file_changed.find(rel);
    if (it != file_changed.end()) return it->second;
    return file_changed[rel] = !same_content(work.base() + "/" + rel, work.tree() + "/" + rel);
  };
  // What changed for each object, before anything is done about it (a second build
  // of the unchanged tree may be needed first).
  struct Object {
    std::string rel;
    const CompileRecord* a;
    const CompileRecord* p;
    std::set<std::string> real_inputs, noisy_inputs;
    bool real_argv = false, noisy_argv = false;
  };
  std::vector<Object> seen;
  for (const auto& rel : objects) {
    const std::string path = work.tree() + "/" + rel;
    Object o{rel, unpatched.compile_of(path), patched.compile_of(path), {}, {}};
    if (!o.a) {
      seen.push_back(std::move(o));
      continue;
    }
    const CompileRecord *a = o.a, *p = o.p;
    std::vector<std::string> deps = unpatched.dependencies(*a);
    if (p)
      for (auto& d : patched.dependencies(*p)) deps.push_back(std::move(d));
    for (const auto& dep : deps) {
      std::string drel = relative_inside(dep, work.tree());
      if (drel.empty() || !changed(drel)) continue;
      (noise.files.count(drel) ? o.noisy_inputs : o.real_inputs).insert(drel);
    }
    if (p) {
      if (p->cwd != a->cwd || p->exe != a->exe) o.real_argv = true;
      if (p->argv.size() != a->argv.size()) {
        (noise.unstable_commands.count(rel) ? o.noisy_argv : o.real_argv) = true;
      } else {
        auto it = noise.args.find(rel);
        for (size_t i = 0; i < a->argv.size(); ++i)
          if (p->argv[i] != a->argv[i]) (it != noise.args.end() && it->second.count(i) ? o.noisy_argv : o.real_argv) = true;
      }
    }
    if (ask_noise && !noise.covered.count(rel)) {
      // Anything the diffs alone do not explain: ask a second build first.
      std::string why;
      for (const auto& f : o.real_inputs)
        if (!diff_files.count(f)) why = fmt::format("{} changed, and no diff touches it", f);
      if (o.real_argv) why = fmt::format("the command that compiles {} changed", rel);
      if (o.real_inputs.empty() && !o.real_argv && !same_content(work.base() + "/" + rel, path))
        why = fmt::format("{} changed, and none of its inputs did", rel);
      if (!why.empty()) {
        if (out.needs_noise.empty()) out.needs_noise = why;
        out.noise_objects.push_back(rel);
      }
    }
    seen.push_back(std::move(o));
  }
  if (!out.needs_noise.empty()) return out;

  std::set<std::string> restored;  // noisy inputs put back as the unpatched build had them
  for (const auto& o : seen) {
    const std::string& rel = o.rel;
    const std::string path = work.tree() + "/" + rel;
    const CompileRecord *a = o.a, *p = o.p;
    if (!a) {
      // No record of how the unpatched build made it: compare it if it changed.
      if (!same_content(work.base() + "/" + rel, path)) out.units.push_back(rel);
      continue;
    }
    const auto& real_inputs = o.real_inputs;
    const auto& noisy_inputs = o.noisy_inputs;
    const bool real_argv = o.real_argv, noisy_argv = o.noisy_argv;
    const bool known_noisy = !noisy_inputs.empty() || noisy_argv || noise.unexplained.count(rel);
    if (real_inputs.empty() && !real_argv) {
      if (same_content(work.base() + "/" + rel, path)) continue;
      if (known_noisy) {
        out.notes.push_back(fmt::format("{}: left out: it differs, but none of its inputs does{} (build noise)", rel,
                                        noisy_inputs.empty() ? "" : " except " + join(noisy_inputs)));
        continue;
      }
      // It differs, none of its recorded inputs does, and a second build of the
      // unchanged tree made it the same: something it depends on is not in its
      // dependency file. Compared, never dropped.
      out.units.push_back(rel);
      out.notes.push_back(fmt::format("{}: it changed, but none of the inputs its dependency file lists did; compared "
                                      "anyway", rel));
      continue;
    }
    if (!p || !noisy_inputs.empty() || noisy_argv) {
      // Compile it again: with the inputs that are noise as the unpatched build had
      // them, and the command positions that are noise as it wrote them.
      for (const auto& f : noisy_inputs) {
        if (restored.insert(f).second) {
          std::error_code ec;
          fs::remove(work.tree() + "/" + f, ec);
          fs::copy_file(work.base() + "/" + f, work.tree() + "/" + f);
          file_changed.erase(f);
        }
      }
      std::vector<std::string> argv = a->argv;
      if (p && !real_argv) argv = a->argv;
      else if (p) {
        argv = p->argv;
        auto it = noise.args.find(rel);
        if (it != noise.args.end() && argv.size() == a->argv.size())
          for (size_t i : it->second) argv[i] = a->argv[i];
      }
      const CompileRecord& how = p ? *p : *a;
      work.recompile(how.cwd, how.exe, how.mode, argv, "patched");
      if (!p)
        out.recompiled.push_back(fmt::format("{} (the build did not compile it again; it depends on {})", rel,
                                             join(real_inputs)));
      else
        out.recompiled.push_back(fmt::format("{} (with {} as in the unpatched build: build noise)", rel,
                                             noisy_inputs.empty() ? std::string("its command line") : join(noisy_inputs)));
    }
    if (!same_content(work.base() + "/" + rel, path)) {
      out.units.push_back(rel);
      if (noise.unexplained.count(rel))
        out.notes.push_back(fmt::format("{}: it also differed between two builds of the unchanged tree with the same "
                                        "inputs (__TIMESTAMP__? a compiler that is not deterministic?): functions that "
                                        "differ only by that are in the patch too", rel));
    }
  }
  return out;
}

}  // namespace hotpatch::creator

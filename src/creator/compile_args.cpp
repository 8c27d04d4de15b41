#include "creator/compile_args.h"

#include <array>
#include <string_view>

namespace hotpatch::creator {

namespace {

// Driver options whose value is the next argument (when not attached).
bool takes_separate_value(std::string_view a) {
  static constexpr std::array<std::string_view, 34> with_value = {
      "-o", "-MF", "-MT", "-MQ", "-I", "-D", "-U", "-include", "-imacros", "-iquote", "-isystem", "-idirafter",
      "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-imultilib", "-x", "-L", "-l", "-Xlinker",
      "-Xassembler", "-Xpreprocessor", "-Xclang", "-T", "-u", "-e", "-z", "-aux-info", "--param", "-dumpbase",
      "-dumpdir", "-target", "-MJ"};
  for (auto w : with_value)
    if (a == w) return true;
  return false;
}

bool has_extension(std::string_view path, std::initializer_list<std::string_view> exts) {
  auto dot = path.rfind('.');
  auto slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return false;
  auto ext = path.substr(dot + 1);
  for (auto e : exts)
    if (ext == e) return true;
  return false;
}

bool is_source(std::string_view p) {
  return has_extension(p, {"c", "cc", "cp", "cpp", "cxx", "c++", "C", "CPP", "m", "mm", "i", "ii", "s", "S", "sx"});
}

// "dir/name.ext" -> "dir/name" (the last extension only).
std::string without_extension(const std::string& p) {
  auto dot = p.rfind('.');
  auto slash = p.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return p;
  return p.substr(0, dot);
}

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

CompileArgs parse_compile_args(const std::vector<std::string>& args) {
  CompileArgs out;
  bool compile = false, stop_early = false, deps_only = false;
  std::optional<std::string> output, mf;
  std::vector<std::string> inputs;
  bool language_forced = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (a == "-c") compile = true;
    else if (a == "-S" || a == "-E") stop_early = true;
    else if (a == "-M" || a == "-MM") deps_only = true;
    else if (a == "-MD" || a == "-MMD") out.wants_depfile = true;
    else if (a == "-o") output = next();
    else if (a.starts_with("-o") && a.size() > 2) output = a.substr(2);
    else if (a == "-MF") mf = next();
    else if (a.starts_with("-MF") && a.size() > 3) mf = a.substr(3);
    else if (a == "-x") language_forced = next() != "none";
    else if (a.starts_with("-ffile-prefix-map=") || a.starts_with("-fdebug-prefix-map=") ||
             a.starts_with("-fmacro-prefix-map="))
      out.has_prefix_map = true;
    else if (a == "-g0") out.debug_info = false;
    else if (a == "-g" || a.starts_with("-ggdb") || a.starts_with("-gdwarf") || a == "-g1" || a == "-g2" || a == "-g3")
      out.debug_info = true;
    else if (a == "-flto" || a.starts_with("-flto=")) out.lto = true;
    else if (a == "-fno-lto") out.lto = false;
    else if (a.starts_with("-Wl,")) {
      // -Wl,-Map=FILE or -Wl,-Map,FILE
      std::string rest = a.substr(4);
      if (rest.starts_with("-Map=")) out.project_map = rest.substr(5);
      else if (rest.starts_with("--Map=")) out.project_map = rest.substr(6);
      else if (rest.starts_with("-Map,")) out.project_map = rest.substr(5);
    } else if (takes_separate_value(a)) next();
    else if (a == "-" || a.empty()) continue;
    else if (a[0] != '-') inputs.push_back(a);
  }
  for (const auto& in : inputs)
    if (is_source(in) || (language_forced && !has_extension(in, {"o", "a", "so", "lo"}))) out.sources.push_back(in);
  if (deps_only || stop_early) {
    out.kind = CommandKind::Other;
  } else if (compile) {
    if (out.sources.empty()) return out;
    out.kind = CommandKind::Compile;
    if (output) out.outputs.push_back(*output);
    else
      for (const auto& s : out.sources) out.outputs.push_back(without_extension(base_name(s)) + ".o");
  } else if (!inputs.empty()) {
    out.kind = CommandKind::Link;
    out.outputs.push_back(output.value_or("a.out"));
  }
  if (out.kind == CommandKind::Compile && out.wants_depfile) {
    // GCC and clang: -MF, else the -o name with a .d suffix, else the source's.
    if (mf) out.project_depfile = *mf;
    else if (output) out.project_depfile = without_extension(*output) + ".d";
    else if (!out.sources.empty()) out.project_depfile = without_extension(base_name(out.sources[0])) + ".d";
  }
  return out;
}

std::vector<std::string> arguments_as_run(const std::vector<std::string>& args) {
  std::vector<std::string> out = args;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == "-MMD") out[i] = "-MD";
    else if (takes_separate_value(out[i])) ++i;  // a value that happens to read -MMD
  }
  return out;
}

std::vector<std::string> added_flags(const CompileArgs& parsed, const std::string& depfile, const std::string& mapfile,
                                     const std::string& prefix_map) {
  std::vector<std::string> extra = {"-ffunction-sections", "-fdata-sections"};
  if (parsed.kind == CommandKind::Compile) {
    if (!parsed.debug_info) extra.push_back("-g");
    // One dependency file per command: -MD with several sources writes one per source.
    if (!parsed.wants_depfile && parsed.sources.size() == 1 && !depfile.empty()) {
      extra.push_back("-MD");
      extra.push_back("-MF");
      extra.push_back(depfile);
    }
    if (!parsed.has_prefix_map && !prefix_map.empty()) extra.push_back("-ffile-prefix-map=" + prefix_map);
  } else if (parsed.kind == CommandKind::Link && parsed.project_map.empty() && !mapfile.empty()) {
    extra.push_back("-Wl,-Map=" + mapfile);
  }
  return extra;
}

}  // namespace hotpatch::creator

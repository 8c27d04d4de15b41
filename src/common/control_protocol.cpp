#include "common/control_protocol.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace hotpatch::control {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
// Control characters (NUL, escape, ...) never appear in a typed command: such a line
// is binary input and is refused before anything else looks at it.
bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

struct Syntax {
  const char* group;
  const char* verb;  // nullptr: the group alone (help, version)
  Verb value;
  size_t min_args, max_args;
  bool typed;  // var get/set: an optional leading TYPE word
  const char* usage;
};

constexpr Syntax kSyntax[] = {
    {"help", nullptr, Verb::Help, 0, 0, false, "help"},
    {"version", nullptr, Verb::Version, 0, 0, false, "version"},
    {"gflags", "list", Verb::GflagsList, 0, 0, false, "gflags list"},
    {"gflags", "get", Verb::GflagsGet, 1, 1, false, "gflags get NAME"},
    {"gflags", "set", Verb::GflagsSet, 2, 2, false, "gflags set NAME VALUE"},
    {"glog", "get", Verb::GlogGet, 0, 0, false, "glog get"},
    {"glog", "set", Verb::GlogSet, 2, 2, false, "glog set minloglevel N | v N | vmodule MODULE=N"},
    {"var", "list", Verb::VarList, 0, 0, false, "var list"},
    {"var", "get", Verb::VarGet, 1, 1, true, "var get [TYPE] NAME"},
    {"var", "set", Verb::VarSet, 2, 2, true, "var set [TYPE] NAME VALUE"},
    {"lib", "list", Verb::LibList, 0, 0, false, "lib list"},
    {"lib", "load", Verb::LibLoad, 2, 2, false, "lib load NAME PATH"},
    {"lib", "unload", Verb::LibUnload, 1, 1, false, "lib unload NAME"},
    {"func", "list", Verb::FuncList, 0, 0, false, "func list"},
    {"func", "upgrade", Verb::FuncUpgrade, 2, 3, false, "func upgrade LIB FUNC [NEWFUNC]"},
    {"func", "rollback", Verb::FuncRollback, 1, 1, false, "func rollback FUNC"},
};

// Shortens user input quoted back in an error message.
std::string shown(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  return std::string(s.substr(0, kMax)) + "...";
}

std::string verbs_of(std::string_view group) {
  std::string out;
  for (const auto& s : kSyntax)
    if (s.verb && group == s.group) out += (out.empty() ? "" : "|") + std::string(s.verb);
  return out;
}

template <typename T>
bool parse_integer(std::string_view text, T& out, std::string& error) {
  int base = 10;
  std::string_view digits = text;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits[0] == '-' || digits[0] == '+') {
    error = "'" + shown(text) + "' is not a number";
    return false;
  }
  if (negative && std::numeric_limits<T>::is_signed == false) {
    error = "'" + shown(text) + "' is negative; the variable is unsigned";
    return false;
  }
  // Parse the magnitude wide, then apply the sign and check the range of T.
  unsigned __int128 magnitude = 0;
  for (char c : digits) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else {
      error = "'" + shown(text) + "' is not a number";
      return false;
    }
    magnitude = magnitude * base + v;
    if (magnitude > (static_cast<unsigned __int128>(1) << 64)) break;  // far out of any range
  }
  __int128 value = negative ? -static_cast<__int128>(magnitude) : static_cast<__int128>(magnitude);
  if (magnitude > (static_cast<unsigned __int128>(1) << 64) || value < std::numeric_limits<T>::min() ||
      value > std::numeric_limits<T>::max()) {
    error = "'" + shown(text) + "' is out of range [" + std::to_string(std::numeric_limits<T>::min()) + ", " +
            std::to_string(std::numeric_limits<T>::max()) + "]";
    return false;
  }
  out = static_cast<T>(value);
  return true;
}

}  // namespace

std::optional<std::vector<std::string>> split_words(std::string_view line, std::string& error) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (is_control(c)) {
      error = "binary input (control character " + std::to_string(c) + " at byte " + std::to_string(i) + ")";
      return std::nullopt;
    }
    if (is_blank(line[i])) {
      ++i;
      continue;
    }
    std::string word;
    bool quoted_word = false;
    while (i < line.size() && !is_blank(line[i])) {
      c = static_cast<unsigned char>(line[i]);
      if (is_control(c)) {
        error = "binary input (control character " + std::to_string(c) + " at byte " + std::to_string(i) + ")";
        return std::nullopt;
      }
      if (line[i] != '"') {
        word += line[i++];
        continue;
      }
      quoted_word = true;
      size_t open = i++;
      bool closed = false;
      while (i < line.size()) {
        char q = line[i];
        if (is_control(static_cast<unsigned char>(q))) {
          error = "binary input (control character " + std::to_string(static_cast<unsigned char>(q)) + " at byte " +
                  std::to_string(i) + ")";
          return std::nullopt;
        }
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (q == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += q;
        ++i;
      }
      if (!closed) {
        error = "unterminated quote (opened at byte " + std::to_string(open) + ")";
        return std::nullopt;
      }
    }
    (void)quoted_word;
    words.push_back(std::move(word));
  }
  return words;
}

std::string quote_word(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word)
    if (is_blank(c) || c == '"' || c == '\\') plain = false;
  if (plain) return std::string(word);
  std::string out = "\"";
  for (char c : word) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::optional<ValueKind> parse_type_name(std::string_view name) {
  constexpr std::string_view kAtomicPrefix = "std::atomic<";
  if (name.size() > kAtomicPrefix.size() + 1 && name.substr(0, kAtomicPrefix.size()) == kAtomicPrefix &&
      name.back() == '>')
    name = name.substr(kAtomicPrefix.size(), name.size() - kAtomicPrefix.size() - 1);
  struct Alias { std::string_view name; ValueKind kind; };
  constexpr Alias kAliases[] = {
      {"int", ValueKind::Int32},         {"int32", ValueKind::Int32},     {"int32_t", ValueKind::Int32},
      {"int64", ValueKind::Int64},       {"int64_t", ValueKind::Int64},   {"long", ValueKind::Int64},
      {"uint32", ValueKind::UInt32},     {"uint32_t", ValueKind::UInt32}, {"unsigned", ValueKind::UInt32},
      {"uint64", ValueKind::UInt64},     {"uint64_t", ValueKind::UInt64}, {"bool", ValueKind::Bool},
      {"float", ValueKind::Float},       {"double", ValueKind::Double},   {"string", ValueKind::String},
      {"std::string", ValueKind::String}, {"str", ValueKind::String},
  };
  for (const auto& a : kAliases)
    if (a.name == name) return a.kind;
  return std::nullopt;
}

const char* type_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Int32: return "int32_t";
    case ValueKind::Int64: return "int64_t";
    case ValueKind::UInt32: return "uint32_t";
    case ValueKind::UInt64: return "uint64_t";
    case ValueKind::Bool: return "bool";
    case ValueKind::Float: return "float";
    case ValueKind::Double: return "double";
    case ValueKind::String: return "std::string";
  }
  return "?";
}

ParsedValue parse_value(ValueKind kind, std::string_view text) {
  ParsedValue v;
  switch (kind) {
    case ValueKind::Int32: {
      int32_t x = 0;
      v.ok = parse_integer(text, x, v.error);
      v.i = x;
      break;
    }
    case ValueKind::Int64: v.ok = parse_integer(text, v.i, v.error); break;
    case ValueKind::UInt32: {
      uint32_t x = 0;
      v.ok = parse_integer(text, x, v.error);
      v.u = x;
      break;
    }
    case ValueKind::UInt64: v.ok = parse_integer(text, v.u, v.error); break;
    case ValueKind::Bool:
      if (text == "true" || text == "1") v.i = 1, v.ok = true;
      else if (text == "false" || text == "0") v.i = 0, v.ok = true;
      else v.error = "'" + shown(text) + "' is not a bool (true, false, 1 or 0)";
      break;
    case ValueKind::Float:
    case ValueKind::Double: {
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(text.data(), end, v.d, std::chars_format::general);
      if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        v.error = "'" + shown(text) + "' is not a decimal number";
      } else if (ec == std::errc::result_out_of_range || !std::isfinite(v.d) ||
                 (kind == ValueKind::Float && std::fabs(v.d) > std::numeric_limits<float>::max())) {
        v.error = "'" + shown(text) + "' is out of range for " + type_name(kind);
      } else {
        v.ok = true;
      }
      break;
    }
    case ValueKind::String: v.s = std::string(text), v.ok = true; break;
  }
  return v;
}

ParseResult parse_command(std::string_view line) {
  ParseResult r;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxLineLength) {
    r.error = "line longer than " + std::to_string(kMaxLineLength) + " bytes";
    return r;
  }
  auto words = split_words(line, r.error);
  if (!words) return r;
  if (words->empty()) {
    r.error = "empty command; try 'help'";
    return r;
  }
  const std::string& group = (*words)[0];
  bool group_known = false;
  for (const auto& s : kSyntax) {
    if (group != s.group) continue;
    group_known = true;
    size_t first_arg = 1;
    if (s.verb) {
      if (words->size() < 2 || (*words)[1] != s.verb) continue;
      first_arg = 2;
    }
    Command c;
    c.verb = s.value;
    c.args.assign(words->begin() + first_arg, words->end());
    if (s.typed && c.args.size() == s.max_args + 1) {
      c.type = parse_type_name(c.args[0]);
      if (!c.type) {
        r.error = "unknown type '" + shown(c.args[0]) +
                  "' (int, int32_t, int64_t, uint32_t, uint64_t, bool, float, double, string; quote a value with "
                  "spaces); usage: " + s.usage;
        return r;
      }
      c.args.erase(c.args.begin());
    }
    if (c.args.size() < s.min_args || c.args.size() > s.max_args) {
      r.error = std::string("wrong number of arguments; usage: ") + s.usage;
      return r;
    }
    for (const auto& a : c.args)
      if (a.empty() && c.verb != Verb::VarSet && c.verb != Verb::GflagsSet) {
        r.error = std::string("empty argument; usage: ") + s.usage;
        return r;
      }
    r.command = std::move(c);
    return r;
  }
  if (!group_known)
    r.error = "unknown command '" + shown(group) + "'; try 'help'";
  else
    r.error = "unknown " + group + " command" + (words->size() > 1 ? " '" + shown((*words)[1]) + "'" : std::string()) +
              "; expected " + group + " " + verbs_of(group);
  return r;
}

const char* help_text() {
  return "help                              this text\n"
         "version                           runtime and protocol version\n"
         "gflags list                       every flag as --name=value\n"
         "gflags get NAME                   one flag's value\n"
         "gflags set NAME VALUE             set a flag (gflags' own validators apply)\n"
         "glog get                          minloglevel, v and vmodule\n"
         "glog set minloglevel N            0=INFO 1=WARNING 2=ERROR 3=FATAL\n"
         "glog set v N                      VLOG verbosity\n"
         "glog set vmodule MODULE=N         VLOG verbosity for files matching MODULE\n"
         "var list                          registered variables: name, type, value\n"
         "var get [TYPE] NAME               one variable (TYPE is checked if given)\n"
         "var set [TYPE] NAME VALUE         strict parsing; quote strings with spaces\n"
         "lib list                          libraries loaded through this socket\n"
         "lib load NAME PATH                dlopen(PATH, RTLD_NOW) under NAME\n"
         "lib unload NAME                   refused while a redirect points into it\n"
         "func list                         registered functions and live redirects\n"
         "func upgrade LIB FUNC [NEWFUNC]   FUNC jumps to NEWFUNC (default FUNC) of LIB\n"
         "func rollback FUNC                undo the newest upgrade of FUNC\n"
         "Every reply ends with a line OK or ERR <reason>.\n";
}

}  // namespace hotpatch::control

// The control socket's line protocol (docs/cooperative.md), as pure functions: text
// in, a parsed command or an error message out. No I/O, no globals, no exceptions
// (the Core Runtime is built with -fno-exceptions), so it can be unit-tested and
// fuzzed on its own and shared by the runtime (server) and the CLI (client).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch::control {

// Longer lines are refused and the connection closed: a bound on what one client
// can make the server buffer.
constexpr size_t kMaxLineLength = 64 * 1024;
constexpr unsigned kProtocolVersion = 1;

enum class Verb {
  Help,
  Version,
  GflagsList,
  GflagsGet,     // args: NAME
  GflagsSet,     // args: NAME VALUE
  GlogGet,
  GlogSet,       // args: minloglevel|v|vmodule VALUE
  VarList,
  VarGet,        // type (optional), args: NAME
  VarSet,        // type (optional), args: NAME VALUE
  LibList,
  LibLoad,       // args: NAME PATH
  LibUnload,     // args: NAME
  FuncList,
  FuncUpgrade,   // args: LIB FUNC [NEWFUNC]
  FuncRollback,  // args: FUNC
};

// The value types a registered variable can have. `atomic` is a property of the
// variable, not of the type a client names.
enum class ValueKind { Int32, Int64, UInt32, UInt64, Bool, Float, Double, String };

struct Command {
  Verb verb = Verb::Help;
  std::optional<ValueKind> type;  // var get/set: the TYPE the client named, if any
  std::vector<std::string> args;
};

struct ParseResult {
  std::optional<Command> command;
  std::string error;  // set when !command: what is wrong, for "ERR <error>"
};

// One line without its newline (a trailing '\r' is ignored). Words are separated
// by blanks; "double quotes" keep blanks, with \" and \\ as escapes inside them.
ParseResult parse_command(std::string_view line);

// Splits a line into words as parse_command does; nullopt + error on a bad quote
// or a control character (binary input).
std::optional<std::vector<std::string>> split_words(std::string_view line, std::string& error);

// Quotes a word so that split_words gives it back unchanged (used by the CLI).
std::string quote_word(std::string_view word);

// "int" / "int32_t" / "std::atomic<int>" / "string" ... -> kind; nullopt if unknown.
std::optional<ValueKind> parse_type_name(std::string_view name);
// The canonical C++ name: "int32_t", "std::string", ...
const char* type_name(ValueKind kind);

// A value parsed strictly for `kind`: the whole text, in range, no trailing junk.
// Integers in decimal (or 0x hex); bools true/false/1/0; floats finite decimals.
struct ParsedValue {
  bool ok = false;
  std::string error;
  int64_t i = 0;    // Int32, Int64, Bool (0/1)
  uint64_t u = 0;   // UInt32, UInt64
  double d = 0;     // Float, Double
  std::string s;    // String
};
ParsedValue parse_value(ValueKind kind, std::string_view text);

// The protocol's help text (without the final OK line).
const char* help_text();

}  // namespace hotpatch::control

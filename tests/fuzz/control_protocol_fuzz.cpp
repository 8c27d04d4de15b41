// libFuzzer target for the control protocol parser: any bytes must give a command or
// an error, never a crash, a hang or an out-of-bounds access (built with ASan and
// UBSan). Also checks the parser's promises: a parsed command has the argument
// count of its syntax, and quote_word/split_words round-trip.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/control_protocol.h"

using namespace hotpatch::control;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse_command(line);
  if (r.command.has_value() == !r.error.empty()) std::abort();  // exactly one of the two
  if (r.command && r.command->args.size() > 3) std::abort();
  // Every word quoted and re-split gives the same words back.
  std::string error;
  if (auto words = split_words(line, error)) {
    std::string joined;
    for (const auto& w : *words) joined += quote_word(w) + " ";
    std::string error2;
    auto again = split_words(joined, error2);
    if (!again || *again != *words) std::abort();
  }
  for (ValueKind k : {ValueKind::Int32, ValueKind::Int64, ValueKind::UInt32, ValueKind::UInt64, ValueKind::Bool,
                      ValueKind::Float, ValueKind::Double})
    (void)parse_value(k, line);
  return 0;
}

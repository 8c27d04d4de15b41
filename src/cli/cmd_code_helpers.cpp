// The two commands the cooperative runtime runs on its own process for `func
// upgrade/rollback` (docs/cooperative.md), because it can neither stop its own
// threads nor (without dragging a disassembler into every process) analyse code:
//   hotpatch -p PID preserved-registers --old ADDR --new ADDR
//   hotpatch -p PID write-code --at ADDR --expect HEX --bytes HEX [--guard R]... [--probe R]...
// They are ordinary commands, with no more rights than any other.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>

#include <fmt/core.h>

#include "cli/commands.h"
#include "common/error.h"
#include "loader/code_writer.h"
#include "loader/process.h"
#include "loader/register_use.h"
#include "loader/target_objects.h"

namespace hotpatch::cli {

namespace {

uint64_t parse_address(const std::string& text, const std::string& what) {
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-')
    throw Error(ErrorKind::Usage, fmt::format("{}: '{}' is not an address", what, text));
  return v;
}

std::vector<uint8_t> parse_hex(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() % 2 != 0 || text.size() > 2 * 64)
    throw Error(ErrorKind::Usage, fmt::format("{}: '{}' is not 1 to 64 bytes of hex digits", what, text));
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size(); i += 2) {
    auto digit = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      throw Error(ErrorKind::Usage, fmt::format("{}: '{}' is not hex", what, text));
    };
    out.push_back(static_cast<uint8_t>(digit(text[i]) * 16 + digit(text[i + 1])));
  }
  return out;
}

// "START-END" or "START-END=LABEL".
GuardedRange parse_range(const std::string& text, const std::string& what) {
  std::string span = text, label;
  if (auto eq = text.find('='); eq != std::string::npos) {
    span = text.substr(0, eq);
    label = text.substr(eq + 1);
  }
  auto dash = span.find('-');
  if (dash == std::string::npos) throw Error(ErrorKind::Usage, fmt::format("{}: '{}' is not START-END", what, text));
  RemoteRange range{RemoteAddr(parse_address(span.substr(0, dash), what)),
                    RemoteAddr(parse_address(span.substr(dash + 1), what))};
  if (range.empty()) throw Error(ErrorKind::Usage, fmt::format("{}: '{}' is an empty range", what, text));
  if (label.empty()) label = fmt::format("code [{}, {})", range.start, range.end);
  return {range, label};
}

// The caller may first have to allow us to trace it (Yama's PR_SET_PTRACER names
// one pid, ours, known only once we run); it says so by writing a line. End of input
// without one: it gave up.
void wait_for_go_ahead(int pid) {
  std::string line;
  if (!std::getline(std::cin, line))
    throw Error(ErrorKind::Usage, fmt::format("process {}: no go-ahead on standard input; nothing was done", pid));
}

}  // namespace

int cmd_write_code(const WriteCodeOptions& opts, Output& out) {
  CodeWriteRequest request;
  const bool writes = !opts.at.empty() || !opts.expect.empty() || !opts.bytes.empty();
  if (writes && (opts.at.empty() || opts.expect.empty() || opts.bytes.empty()))
    throw Error(ErrorKind::Usage, "--at, --expect and --bytes go together");
  if (!writes && opts.probes.empty()) throw Error(ErrorKind::Usage, "nothing to do: give --at/--expect/--bytes or --probe");
  if (writes) {
    request.at = RemoteAddr(parse_address(opts.at, "--at"));
    request.expected = parse_hex(opts.expect, "--expect");
    request.bytes = parse_hex(opts.bytes, "--bytes");
  }
  if (request.expected.size() != request.bytes.size())
    throw Error(ErrorKind::Usage, fmt::format("--expect has {} bytes but --bytes has {}", request.expected.size(),
                                              request.bytes.size()));
  for (const auto& g : opts.guards) request.guarded.push_back(parse_range(g, "--guard"));
  for (const auto& p : opts.probes) request.probes.push_back(parse_range(p, "--probe").range);
  request.waiting_thread = opts.waiting_thread;

  if (opts.go_on_stdin) wait_for_go_ahead(opts.pid);
  Process process(opts.pid);
  CodeWriter writer(process);
  CodeWriteReport report = writer.write(request, std::chrono::milliseconds(opts.timeout_ms));
  if (out.json) {
    out.doc["pid"] = opts.pid;
    out.doc["address"] = request.at.str();
    out.doc["bytes"] = request.bytes.size();
    out.doc["threads"] = report.threads;
    out.doc["pause_us"] = report.pause.count();
    out.doc["attempts"] = report.attempts;
    nlohmann::json probes = nlohmann::json::array();
    for (size_t i = 0; i < request.probes.size(); ++i)
      probes.push_back({{"start", request.probes[i].start.str()},
                        {"end", request.probes[i].end.str()},
                        {"in_use", !report.probe_users[i].empty()},
                        {"user", report.probe_users[i]}});
    out.doc["probes"] = probes;
    return 0;
  }
  fmt::print("{}: {} threads stopped for {} us ({} attempt{})\n",
             writes ? fmt::format("written {} bytes at {}", request.bytes.size(), request.at) : std::string("probed"),
             report.threads, report.pause.count(), report.attempts, report.attempts == 1 ? "" : "s");
  for (size_t i = 0; i < request.probes.size(); ++i) {
    const RemoteRange& p = request.probes[i];
    if (report.probe_users[i].empty())
      fmt::print("probe {}-{} unused\n", p.start, p.end);
    else
      fmt::print("probe {}-{} in use: {}\n", p.start, p.end, report.probe_users[i]);
  }
  return 0;
}

int cmd_preserved_registers(int pid, const std::string& old_function, const std::string& new_function, bool go_on_stdin,
                            Output& out) {
  RemoteAddr old_entry(parse_address(old_function, "--old")), new_entry(parse_address(new_function, "--new"));
  if (go_on_stdin) wait_for_go_ahead(pid);
  Process process(pid);
  TargetObjects objects(process, process.address_space());
  for (RemoteAddr entry : {old_entry, new_entry})
    if (!objects.object_containing(entry))
      throw Error(ErrorKind::DoesNotFit, fmt::format("process {}: {} is in no loaded object", pid, entry));
  arch::RegisterSet preserve = registers_to_preserve(objects, old_entry, new_entry);
  if (out.json) {
    out.doc["pid"] = pid;
    out.doc["mask"] = fmt::format("{:#x}", preserve.to_mask());
    out.doc["registers"] = preserve.names();
    return 0;
  }
  fmt::print("preserve {:#x} {}\n", preserve.to_mask(), preserve.empty() ? "(none)" : preserve.names());
  return 0;
}

}  // namespace hotpatch::cli

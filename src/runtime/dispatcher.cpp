#include "runtime/dispatcher.h"

#include "common/control_protocol.h"
#include "runtime/functions.h"
#include "runtime/libraries.h"
#include "runtime/logging_flags.h"
#include "runtime/variables.h"

#ifndef HOTPATCH_VERSION
#define HOTPATCH_VERSION "unknown"
#endif

namespace hotpatch::runtime {

using control::Verb;

Reply run_command_line(std::string_view line, const Peer& peer) {
  Reply reply;
  control::ParseResult parsed = control::parse_command(line);
  if (!parsed.command) {
    reply.fail(parsed.error);
    return reply;
  }
  const control::Command& c = *parsed.command;
  const auto& a = c.args;
  switch (c.verb) {
    case Verb::Help: reply.body = control::help_text(); break;
    case Verb::Version:
      reply.line(std::string("hotpatch runtime ") + HOTPATCH_VERSION + ", protocol " +
                 std::to_string(control::kProtocolVersion));
      break;
    case Verb::GflagsList: ProcessGflags::list(reply); break;
    case Verb::GflagsGet: ProcessGflags::get(a[0], reply); break;
    case Verb::GflagsSet: ProcessGflags::set(a[0], a[1], reply); break;
    case Verb::GlogGet: ProcessGlog::get(reply); break;
    case Verb::GlogSet: ProcessGlog::set(a[0], a[1], reply); break;
    case Verb::VarList: VariableTable::instance().list(reply); break;
    case Verb::VarGet: VariableTable::instance().get(a[0], c.type, reply); break;
    case Verb::VarSet: VariableTable::instance().set(a[0], c.type, a[1], reply); break;
    case Verb::LibList: LibraryTable::instance().list(reply); break;
    case Verb::FuncList: FunctionTable::instance().list(reply); break;
    case Verb::LibLoad:
    case Verb::LibUnload:
    case Verb::FuncUpgrade:
    case Verb::FuncRollback: run_code_loading(c, peer, reply); break;
  }
  return reply;
}

}  // namespace hotpatch::runtime

// hotpatch: the command line. Parses, dispatches to cmd_*.cpp, maps errors to the
// exit codes documented in docs/cli.md.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "agent/patch_store.h"
#include "cli/commands.h"
#include "cli/version.h"
#include "common/error.h"
#include "common/verbose.h"

using hotpatch::Error;
using hotpatch::ErrorKind;

namespace {

int report_error(hotpatch::cli::Output& out, int code, const std::string& message) {
  if (out.json) {
    nlohmann::json j = {{"schema", hotpatch::cli::kJsonSchema}, {"error", message}, {"exit_code", code}};
    std::cout << j.dump() << std::endl;
  }
  std::fflush(stdout);  // what was printed before the error comes before it
  fmt::print(stderr, "hotpatch: error: {}\n", message);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hotpatch: live patching of running Linux processes"};
  app.set_version_flag("--version", hotpatch::cli::version_text, "print the version, the git commit and the runtime it loads");
  app.require_subcommand(1);

  std::string pid_text, exe;
  bool json = false, verbose = false;
  hotpatch::cli::Output out;
  hotpatch::cli::Targets targets;
  app.add_option("-p,--pid", pid_text, "target process: PID, PID,PID,... or all (every process the patch fits)");
  app.add_option("--exe", exe, "every process running this program (compared by device and inode)");
  app.add_flag("--keep-going", targets.keep_going, "with several processes: go on after a failure");
  app.add_flag("--json", json, "print one JSON object instead of text");
  app.add_flag("-v,--verbose", verbose, "print the steps with timings on stderr");
  app.add_flag("-q,--quiet", out.quiet, "print nothing but errors and warnings");
  // Options given after the subcommand are the main command's too (`list --json -v`).
  app.fallthrough();

  hotpatch::cli::ApplyOptions apply_opts;
  auto* apply = app.add_subcommand("apply", "apply a patch to the running process");
  apply->add_option("patch", apply_opts.patch_path, "patch shared object")->required();
  apply->add_option("--timeout", apply_opts.timeout_ms, "ms to retry while a function is active")
      ->check(CLI::Range(0, 3600000));
  apply->add_option("--replace", apply_opts.replace, "revert this applied patch in the same stop (cumulative patches)");
  apply->add_flag("--json", json);

  hotpatch::cli::RevertOptions revert_opts;
  auto* revert = app.add_subcommand("revert", "take an applied patch back");
  auto* revert_id = revert->add_option("id", revert_opts.id, "patch id (see list)");
  auto* revert_all = revert->add_flag("--all", revert_opts.all, "revert every patch, newest first");
  revert_id->excludes(revert_all);
  revert->add_option("--timeout", revert_opts.timeout_ms, "ms to retry while patch code is active")
      ->check(CLI::Range(0, 3600000));
  revert->add_flag("--json", json);

  hotpatch::cli::ApplyOptions check_opts;
  auto* check = app.add_subcommand("check", "would apply succeed now? a dry run that changes nothing");
  check->add_option("patch", check_opts.patch_path, "patch shared object")->required();
  check->add_option("--timeout", check_opts.timeout_ms, "ms to retry while a function is active")
      ->check(CLI::Range(0, 3600000));

  auto* list = app.add_subcommand("list", "list the patches applied to the process");
  list->add_flag("--json", json);

  std::string info_path;
  auto* info = app.add_subcommand("info", "show what a patch file contains");
  info->add_option("patch", info_path, "patch shared object")->required();
  info->add_flag("--json", json);

  // Cooperative runtime: the rest of the line goes to the process's control socket.
  hotpatch::cli::ControlOptions control_opts;
  std::vector<CLI::App*> control_groups;
  for (const char* group : {"gflags", "glog", "var", "lib", "func"}) {
    auto* sub = app.add_subcommand(group, std::string("control socket: ") + group + " ... (see docs/cooperative.md)");
    sub->prefix_command();  // everything after the group word is the command's, even "-1"
    sub->fallthrough(false);
    sub->add_flag("--json", json);
    control_groups.push_back(sub);
  }
  auto* socket_cmd = app.add_subcommand("socket", "print the process's control socket path");
  socket_cmd->add_flag("--json", json);
  int inject_timeout_ms = 5000;
  auto* inject = app.add_subcommand("inject", "start the control server in the process (loads libhotpatch.so)");
  inject->add_option("--timeout", inject_timeout_ms, "ms to wait for a thread that can run the call")
      ->check(CLI::NonNegativeNumber);
  inject->add_flag("--json", json);

  hotpatch::cli::WriteCodeOptions write_opts;
  auto* write_code = app.add_subcommand("write-code", "rewrite code bytes with every thread stopped (used by func upgrade)");
  write_code->add_option("--at", write_opts.at, "address of the first byte");
  write_code->add_option("--expect", write_opts.expect, "the bytes there now, in hex");
  write_code->add_option("--bytes", write_opts.bytes, "the bytes to write, in hex");
  write_code->add_option("--guard", write_opts.guards, "START-END[=LABEL]: code no thread may be in (repeatable)");
  write_code->add_option("--probe", write_opts.probes, "START-END: report whether a thread is in it (repeatable)");
  write_code->add_option("--timeout", write_opts.timeout_ms, "ms to retry while a guarded range is in use")
      ->check(CLI::Range(0, 3600000));
  write_code->add_option("--waiting-thread", write_opts.waiting_thread,
                         "TID of a thread that waits for us and runs none of the guarded code")
      ->check(CLI::Range(1, 4194304));
  write_code->add_flag("--go-on-stdin", write_opts.go_on_stdin, "wait for a line on stdin before attaching");
  write_code->add_flag("--json", json);

  std::string preserve_old, preserve_new;
  auto* preserved = app.add_subcommand("preserved-registers", "registers a redirect must keep for the old function's callers");
  preserved->add_option("--old", preserve_old, "entry address of the function being replaced")->required();
  preserved->add_option("--new", preserve_new, "entry address of the replacement")->required();
  bool preserved_go_on_stdin = false;
  preserved->add_flag("--go-on-stdin", preserved_go_on_stdin, "wait for a line on stdin before attaching");
  preserved->add_flag("--json", json);

  // Patches that survive restarts (docs/agent.md).
  std::string patch_dir = hotpatch::ops::kDefaultPatchDir;
  hotpatch::cli::AgentCommand agent_opts;
  auto* agent = app.add_subcommand("agent", "apply installed patches to every process that starts (a daemon)");
  agent->add_option("--patch-dir", patch_dir, "where the installed patches are");
  agent->add_option("--run-dir", agent_opts.run_dir, "where the agent keeps agent.pid and its held starts");
  agent->add_option("--log", agent_opts.log, "auto (journal or syslog), stderr or syslog");
  agent->add_option("--timeout", agent_opts.timeout_ms, "apply's --timeout, in ms")->check(CLI::Range(0, 3600000));
  agent->add_option("--hold-timeout", agent_opts.hold_timeout_ms, "ms a new process may take to reach its entry point")
      ->check(CLI::Range(0, 3600000));
  std::string install_file, remove_id;
  auto* install_patch = app.add_subcommand("install-patch", "install a patch for the agent");
  install_patch->add_option("patch", install_file, "patch shared object (with HOTPATCH_BUILD_ID)")->required();
  install_patch->add_option("--patch-dir", patch_dir, "where the installed patches are");
  auto* remove_patch = app.add_subcommand("remove-patch", "remove an installed patch (running processes keep it)");
  remove_patch->add_option("id", remove_id, "patch id (see: hotpatch patches)")->required();
  remove_patch->add_option("--patch-dir", patch_dir, "where the installed patches are");
  auto* patches_cmd = app.add_subcommand("patches", "list the installed patches");
  patches_cmd->add_option("--patch-dir", patch_dir, "where the installed patches are");
  auto* status = app.add_subcommand("status", "every process with the runtime loaded, and its patches");

  // Signed patches (docs/security.md).
  std::string keygen_out, sign_key, sign_file, verify_file, verify_key;
  auto* keygen = app.add_subcommand("keygen", "make an Ed25519 key pair for signing patches: NAME.key and NAME.pub");
  keygen->add_option("--out", keygen_out, "DIR/NAME of the two files to write")->required();
  keygen->add_flag("--json", json);
  auto* sign = app.add_subcommand("sign", "sign a patch or library in place (the signature is appended to the file)");
  sign->add_option("--key", sign_key, "the secret key (NAME.key)")->required();
  sign->add_option("file", sign_file, "patch or shared library")->required();
  sign->add_flag("--json", json);
  auto* verify = app.add_subcommand("verify", "check a file's signature (against --key, else the policy's trusted keys)");
  verify->add_option("file", verify_file, "signed patch or shared library")->required();
  verify->add_option("--key", verify_key, "the public key it must be signed with (NAME.pub)");
  verify->add_flag("--json", json);

  hotpatch::cli::CreateCommand create_opts;
  auto* create = app.add_subcommand("create", "make a patch from a source tree and a diff");
  create->add_option("--src", create_opts.source_dir, "the source tree the running program was built from")->required();
  create->add_option("--diff", create_opts.diffs, "the fix, as a unified diff applying with patch -p1; repeat for a series "
                     "(applied in order, one cumulative patch)")->required()->allow_extra_args(false);
  create->add_option("--build", create_opts.build, "the project's build command (default: make)");
  create->add_option("--binary", create_opts.binary, "the program, relative to --src")->required();
  create->add_option("-o,--output", create_opts.output, "the patch file to write")->required();
  create->add_option("--id", create_opts.id, "patch id (default: the output's base name)");
  create->add_option("--description", create_opts.description, "description (default: the diffs' file names)");
  create->add_option("--work", create_opts.work, "keep the unpatched build here, for reuse");
  create->add_option("--sign", create_opts.sign_key, "sign the patch with this secret key (NAME.key)");
  create->add_option("--hooks", create_opts.hooks, "a C file of callbacks and shadow-variable ids to compile into the patch");
  create->add_option("--hooks-cflags", create_opts.hooks_cflags, "compiler flags for the hook file (the project's -I/-D)");
  create->add_flag("--json", json);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    out.json = json;
    return report_error(out, static_cast<int>(ErrorKind::Usage), e.what());
  }
  out.json = json;
  if (verbose) hotpatch::verbose::enable();

  // Ctrl-C or a hang-up while a target thread runs one of our remote calls, or while
  // every thread is stopped, must not leave the target half-changed: such signals
  // are held, and the waits that can last look for them and give up cleanly
  // (loader/interruption.h: exit 10); otherwise they take effect when the command ends.
  sigset_t deferred;
  sigemptyset(&deferred);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaddset(&deferred, sig);
  if (apply->parsed() || check->parsed() || revert->parsed() || inject->parsed() || write_code->parsed()) sigprocmask(SIG_BLOCK, &deferred, nullptr);
  // Once everything is printed, a signal deferred meanwhile takes effect (a run over
  // several processes stops before the next one when one is pending: targets.cpp).
  auto deferred_signals_act = [&](int rc) {
    std::fflush(stdout);
    sigprocmask(SIG_UNBLOCK, &deferred, nullptr);
    return rc;
  };

  try {
    int rc = 0;
    targets.selection = hotpatch::cli::parse_selection(pid_text, exe);
    // The cooperative and helper commands talk to one process.
    auto one_pid = [&](const char* command) {
      if (targets.selection.kind != hotpatch::cli::Selection::Kind::Single)
        throw Error(ErrorKind::Usage, fmt::format("{} needs one process: -p PID", command));
      return static_cast<int>(targets.selection.pids.front());
    };
    for (auto* sub : {info, create, agent, install_patch, remove_patch, patches_cmd, status, keygen, sign, verify})
      if (sub->parsed() && targets.selection.kind != hotpatch::cli::Selection::Kind::None)
        throw Error(ErrorKind::Usage, fmt::format("{} takes no process (-p/--exe)", sub->get_name()));
    if (apply->parsed()) {
      rc = hotpatch::cli::cmd_apply(targets, apply_opts, out);
    } else if (revert->parsed()) {
      if (!revert_opts.all && revert_opts.id.empty()) {
        throw Error(ErrorKind::Usage, "revert needs a patch id or --all");
      }
      rc = hotpatch::cli::cmd_revert(targets, revert_opts, out);
    } else if (check->parsed()) {
      rc = hotpatch::cli::cmd_check(targets, check_opts, out);
    } else if (list->parsed()) {
      rc = hotpatch::cli::cmd_list(targets, out);
    } else if (agent->parsed()) {
      agent_opts.patch_dir = patch_dir;
      agent_opts.verbose = verbose;
      rc = hotpatch::cli::cmd_agent(agent_opts, out);
    } else if (install_patch->parsed()) {
      rc = hotpatch::cli::cmd_install_patch(patch_dir, install_file, out);
    } else if (remove_patch->parsed()) {
      rc = hotpatch::cli::cmd_remove_patch(patch_dir, remove_id, out);
    } else if (patches_cmd->parsed()) {
      rc = hotpatch::cli::cmd_patches(patch_dir, out);
    } else if (status->parsed()) {
      rc = hotpatch::cli::cmd_status(out);
    } else if (keygen->parsed()) {
      rc = hotpatch::cli::cmd_keygen(keygen_out, out);
    } else if (sign->parsed()) {
      rc = hotpatch::cli::cmd_sign(sign_key, sign_file, out);
    } else if (verify->parsed()) {
      rc = hotpatch::cli::cmd_verify(verify_file, verify_key, out);
    } else if (info->parsed()) {
      rc = hotpatch::cli::cmd_info(info_path, out);
    } else if (create->parsed()) {
      rc = hotpatch::cli::cmd_create(create_opts, out);
    } else if (socket_cmd->parsed()) {
      rc = hotpatch::cli::cmd_socket(one_pid("socket"), out);
    } else if (inject->parsed()) {
      rc = hotpatch::cli::cmd_inject(one_pid("inject"), inject_timeout_ms, out);
    } else if (preserved->parsed()) {
      rc = hotpatch::cli::cmd_preserved_registers(one_pid("preserved-registers"), preserve_old, preserve_new, preserved_go_on_stdin, out);
    } else if (write_code->parsed()) {
      write_opts.pid = one_pid("write-code");
      rc = hotpatch::cli::cmd_write_code(write_opts, out);
    } else {
      for (auto* sub : control_groups)
        if (sub->parsed()) {
          control_opts.pid = one_pid(sub->get_name().c_str());
          control_opts.group = sub->get_name();
          control_opts.words = sub->remaining();
          rc = hotpatch::cli::cmd_control(control_opts, out);
        }
    }
    if (out.json) {
      out.doc["schema"] = hotpatch::cli::kJsonSchema;
      std::cout << out.doc.dump() << std::endl;
    }
    return deferred_signals_act(rc);
  } catch (const Error& e) {
    return deferred_signals_act(report_error(out, e.exit_code(), e.what()));
  } catch (const std::exception& e) {
    return deferred_signals_act(report_error(out, static_cast<int>(ErrorKind::Internal), e.what()));
  }
}

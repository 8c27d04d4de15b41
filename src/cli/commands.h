// One function per subcommand; main.cpp only parses and dispatches. Each returns the
// process exit code, or throws hotpatch::Error (main maps it to its exit code).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/targets.h"
#include "trust/signature.h"

namespace hotpatch::cli {

// Every JSON object the CLI prints carries "schema": kJsonSchema (docs/json.md). Bump
// it only for a change that breaks a reader (a field removed or changing meaning).
inline constexpr int kJsonSchema = 1;

struct Output {
  bool json = false;
  bool quiet = false;  // -q: no result lines (errors and warnings still go to stderr)
  // Prints a human line, or collects into the JSON object printed at the end.
  nlohmann::json doc = nlohmann::json::object();
};

// The processes a command works on (cli/targets.h) and how it goes on after a failure.
struct Targets {
  Selection selection;
  bool keep_going = false;
};

struct ApplyOptions {
  std::string patch_path;
  int timeout_ms = 5000;
  std::string replace;  // --replace OLD_ID: revert it in the same stop
};
struct RevertOptions {
  std::string id;  // empty with all=true
  bool all = false;
  int timeout_ms = 5000;
};

// One result per process (docs/cli.md, "Several processes").
int cmd_apply(const Targets& targets, const ApplyOptions& opts, Output& out);
int cmd_revert(const Targets& targets, const RevertOptions& opts, Output& out);
int cmd_list(const Targets& targets, Output& out);
// A dry run of apply (cmd_check.cpp): the same exit status, nothing written.
int cmd_check(const Targets& targets, const ApplyOptions& opts, Output& out);
int cmd_info(const std::string& patch_path, Output& out);

// Patches that survive restarts (cmd_agent.cpp, cmd_status.cpp; docs/agent.md).
struct AgentCommand {
  std::string patch_dir, run_dir = "/run/hotpatch", log = "auto";
  int timeout_ms = 5000, hold_timeout_ms = 5000;
  bool verbose = false;
};
int cmd_agent(const AgentCommand& opts, Output& out);
int cmd_install_patch(const std::string& patch_dir, const std::string& file, Output& out);
int cmd_remove_patch(const std::string& patch_dir, const std::string& id, Output& out);
int cmd_patches(const std::string& patch_dir, Output& out);
int cmd_status(Output& out);

// Creator (cmd_create.cpp; docs/creator.md).
struct CreateCommand {
  std::string source_dir, build = "make", binary, output, id, description, work;
  std::string sign_key;            // --sign NAME.key: sign what it writes
  std::vector<std::string> diffs;  // --diff, repeatable: applied in order
  std::string hooks, hooks_cflags;  // --hooks FILE.c, --hooks-cflags FLAGS
};
int cmd_create(const CreateCommand& opts, Output& out);

// Trust (cmd_keygen.cpp, cmd_sign.cpp, cmd_verify.cpp; docs/security.md).
int cmd_keygen(const std::string& out_prefix, Output& out);
struct SignResult {
  std::string key_id, sha256;   // the signer; the signed file's SHA-256
  std::string replaced_signer;  // the key of a signature it replaced, if any
};
// Signs FILE in place with the secret key at `key_path` (`sign`, `create --sign`).
SignResult sign_file(const std::string& file, const std::string& key_path);
// Throws (exit 2) when the secret key cannot be used: checked before a long create.
void check_signing_key(const std::string& key_path);
int cmd_sign(const std::string& key_path, const std::string& file, Output& out);
// What a file's bytes say about their signature (`verify`, `info`).
struct SignatureStatus {
  std::string state;    // unsigned, malformed, invalid, valid
  std::string problem;  // malformed, invalid: why
  std::string signer;   // key id, when a trailer is there
  std::string trusted;  // valid: "yes"/"no" against the policy's trusted_keys, "" when it names none
  std::string trusted_keys;
  trust::PublicKey public_key{};
};
SignatureStatus signature_status(const std::vector<uint8_t>& bytes);
int cmd_verify(const std::string& file, const std::string& key_path, Output& out);

// Cooperative runtime (cmd_control.cpp, cmd_inject.cpp; docs/cooperative.md).
struct ControlOptions {
  int pid = 0;
  std::string group;               // gflags, glog, var, lib, func
  std::vector<std::string> words;  // the rest of the command, quoted when sent
};
int cmd_control(const ControlOptions& opts, Output& out);
int cmd_socket(int pid, Output& out);
int cmd_inject(int pid, int timeout_ms, Output& out);

// Rewrite code with every thread stopped (cmd_code_helpers.cpp; docs/cli.md): what the
// runtime runs on its own process for `func upgrade/rollback`.
struct WriteCodeOptions {
  int pid = 0;
  std::string at, expect, bytes;
  std::vector<std::string> guards, probes;
  int timeout_ms = 5000;
  int waiting_thread = 0;
  bool go_on_stdin = false;
};
int cmd_write_code(const WriteCodeOptions& opts, Output& out);
// The registers a redirect from one function to another must keep (IPA-RA).
int cmd_preserved_registers(int pid, const std::string& old_function, const std::string& new_function, bool go_on_stdin,
                            Output& out);

}  // namespace hotpatch::cli

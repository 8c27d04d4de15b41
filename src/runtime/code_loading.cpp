#include "runtime/code_loading.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "runtime/functions.h"
#include "runtime/libraries.h"
#include "trust/audit.h"
#include "trust/policy.h"

namespace hotpatch::runtime {

namespace {

using control::Verb;

const char* action_of(Verb verb) {
  switch (verb) {
    case Verb::LibLoad: return "lib-load";
    case Verb::LibUnload: return "lib-unload";
    case Verb::FuncUpgrade: return "func-upgrade";
    case Verb::FuncRollback: return "func-rollback";
    default: return "control";
  }
}

// "... threads stopped for 310 us ..." in the writer's summary (live_code.h).
long long pause_in(const std::string& body) {
  const std::string key = "stopped for ";
  size_t at = body.find(key);
  if (at == std::string::npos) return -1;
  char* end = nullptr;
  long long us = std::strtoll(body.c_str() + at + key.size(), &end, 10);
  return end && std::string_view(end).substr(0, 3) == " us" ? us : -1;
}

// func upgrade jumps into a library `lib load` loaded, maybe under an earlier policy:
// with require_signature it must be signed by a key trusted now.
bool library_acceptable(const LoadedLibrary& lib, const trust::Policy& policy, std::string& why) {
  if (!policy.require_signature) return true;
  if (lib.signer.empty()) {
    why = "library '" + lib.name + "' (" + lib.path + ") is not signed, and the " + policy.describe() +
          " requires signatures";
    return false;
  }
  std::vector<trust::PublicKey> keys;
  std::string error;
  if (!trust::load_trusted_keys(policy.trusted_keys, keys, error)) {
    why = "cannot check library '" + lib.name + "' against trusted_keys: " + error;
    return false;
  }
  if (std::find(keys.begin(), keys.end(), lib.key) == keys.end()) {
    why = "library '" + lib.name + "' (" + lib.path + ") is signed by key " + lib.signer + ", which is not a trusted key (" +
          policy.trusted_keys + ")";
    return false;
  }
  return true;
}

}  // namespace

bool is_code_loading(Verb verb) {
  return verb == Verb::LibLoad || verb == Verb::LibUnload || verb == Verb::FuncUpgrade || verb == Verb::FuncRollback;
}

void run_code_loading(const control::Command& c, const Peer& peer, Reply& reply) {
  const auto& a = c.args;
  trust::AuditEvent event;
  event.action = action_of(c.verb);
  event.caller_is(peer.pid, peer.uid);
  event.target_is_self();
  // What: the library's name, or the function's registry id (func:NAME).
  event.patch_id = c.verb == Verb::FuncUpgrade ? "func:" + a[1] : c.verb == Verb::FuncRollback ? "func:" + a[0] : a[0];

  trust::Policy policy;
  std::string error;
  if (!trust::load_policy(std::getenv(trust::kPolicyEnvironment), policy, error)) {
    reply.fail(std::string(kPolicyRefusal) + error);
  } else if (!policy.allows_code_loading(peer.uid)) {
    reply.fail(std::string(kPolicyRefusal) + "uid " + std::to_string(peer.uid) +
               " may not load code into this process (lib load/unload and func upgrade/rollback need root, or the uid "
               "in code_loading_uids of the " + policy.describe() + ")");
  } else {
    switch (c.verb) {
      case Verb::LibLoad: {
        LoadedLibrary loaded;
        LibraryTable::instance().load(a[0], a[1], policy, reply, loaded);
        event.patch_path = loaded.path;
        event.sha256 = loaded.sha256;
        event.signer = loaded.signer;
        break;
      }
      case Verb::LibUnload:
        if (auto lib = LibraryTable::instance().find(a[0])) {
          event.patch_path = lib->path;
          event.sha256 = lib->sha256;
          event.signer = lib->signer;
        }
        LibraryTable::instance().unload(a[0], reply);
        break;
      case Verb::FuncUpgrade: {
        auto lib = LibraryTable::instance().find(a[0]);
        std::string why;
        if (lib) {
          event.patch_path = lib->path;
          event.sha256 = lib->sha256;
          event.signer = lib->signer;
        }
        if (lib && !library_acceptable(*lib, policy, why)) {
          reply.fail(std::string(kPolicyRefusal) + why);
          break;
        }
        FunctionTable::instance().upgrade(a[0], a[1], a.size() > 2 ? a[2] : a[1], reply);
        break;
      }
      case Verb::FuncRollback: FunctionTable::instance().rollback(a[0], reply); break;
      default: break;
    }
  }
  event.result = reply.ok ? "ok" : reply.error.rfind(kPolicyRefusal, 0) == 0 ? "refused" : "failed";
  event.error = reply.error;
  event.pause_us = pause_in(reply.body);
  trust::audit(event, "libhotpatch");
}

}  // namespace hotpatch::runtime

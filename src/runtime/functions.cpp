#include "runtime/functions.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "arch/arch.h"
#include "runtime/libraries.h"
#include "runtime/live_code.h"
#include "runtime/process_symbols.h"
#include "runtime/registry_access.h"
#include "runtime/reply.h"

namespace hotpatch::runtime {

namespace {

constexpr const char* kIdPrefix = "func:";  // registry ids of cooperative upgrades
constexpr size_t kEntryBytesRead = 16;
constexpr int kWriteTimeoutMs = 5000;  // how long a thread may keep the entry's first bytes busy
constexpr int kStubReclaimAttempts = 5;

std::vector<uint8_t> read_code(uintptr_t at, size_t len) {
  const auto* p = reinterpret_cast<const uint8_t*>(at);
  return std::vector<uint8_t>(p, p + len);
}

// The bytes after the first of a rewritten entry: a thread stopped there (or
// returning there) would resume in the middle of the new instruction. A thread at the
// very first byte simply runs the new one.
CodeRange entry_window(const std::string& func, uintptr_t site, size_t length) {
  return {site + 1, site + length, "the first bytes of '" + func + "'"};
}

bool is_ours(const PatchRecord& p) { return p.id.rfind(kIdPrefix, 0) == 0; }

std::string unique_id(const Registry& registry, const std::string& func) {
  std::string id = kIdPrefix + func;
  for (int n = 2; registry.find(id); ++n) id = kIdPrefix + func + "#" + std::to_string(n);
  return id;
}

}  // namespace

FunctionTable& FunctionTable::instance() {
  static FunctionTable table;
  return table;
}

bool FunctionTable::add(const std::string& name, void* function, std::string& error) {
  if (name.empty() || name.find_first_of(" \t\r\n\"") != std::string::npos || !function) {
    error = "function name '" + name + "' is empty or contains blanks, or the pointer is null";
    return false;
  }
  std::lock_guard<std::mutex> guard(lock_);
  for (const auto& [n, a] : registered_)
    if (n == name) {
      error = "function '" + name + "' is already registered";
      return false;
    }
  registered_.emplace_back(name, reinterpret_cast<uintptr_t>(function));
  return true;
}

std::optional<uintptr_t> FunctionTable::find(const std::string& name) {
  for (const auto& [n, a] : registered_)
    if (n == name) return a;
  return std::nullopt;
}

std::optional<FunctionTable::Target> FunctionTable::resolve_target(const std::string& func, std::string& error) {
  if (auto registered = find(func)) {
    auto sym = ProcessSymbols::function_at(*registered);
    if (!sym) {
      error = "registered function '" + func + "' at " + hex(*registered) +
              " has no sized symbol in its object's symbol table (stripped?); cannot check that a jump fits";
      return std::nullopt;
    }
    return Target{*registered, sym->size};
  }
  auto sym = ProcessSymbols::find_function(func, error);
  if (!sym) return std::nullopt;
  return Target{sym->address, sym->size};
}

void FunctionTable::list(Reply& reply) {
  std::lock_guard<std::mutex> guard(lock_);
  if (registered_.empty()) reply.line("no functions registered");
  for (const auto& [name, address] : registered_) reply.line("registered " + name + " " + hex(address));
  std::string error;
  auto tx = RegistryTransaction::begin(error);
  if (!tx) return reply.fail(error);
  for (const auto& p : tx->registry.patches)
    for (const auto& r : p.redirects)
      reply.line("redirect " + r.symbol + " " + hex(r.target) + " -> " +
                 (r.replacement_name.empty() ? "?" : r.replacement_name) + " " + hex(r.replacement) +
                 (r.stub ? " via stub" : "") + " (" + p.id + ", " + p.path + ")");
}

void FunctionTable::upgrade(const std::string& lib, const std::string& func, const std::string& new_func, Reply& reply) {
  std::lock_guard<std::mutex> guard(lock_);
  std::string error;
  auto library = LibraryTable::instance().find(lib);
  if (!library) return reply.fail("no library named '" + lib + "' is loaded (load it first: lib load " + lib + " PATH)");
  auto target = resolve_target(func, error);
  if (!target) return reply.fail(error);

  // The replacement must be defined by that library itself, not found through it.
  dlerror();
  void* replacement_ptr = dlsym(library->handle, new_func.c_str());
  uintptr_t replacement = reinterpret_cast<uintptr_t>(replacement_ptr);
  if (!replacement_ptr || !address_in_library(replacement, library->handle))
    return reply.fail("library '" + lib + "' (" + library->path + ") defines no function '" + new_func + "'");
  if (replacement == target->address) return reply.fail("'" + func + "' and the replacement are the same function");
  auto replacement_sym = ProcessSymbols::function_at(replacement);

  std::vector<uint8_t> entry = read_code(target->address, std::min(target->size, kEntryBytesRead));
  const size_t keep = arch::entry_prologue_to_keep(entry);
  if (target->size < keep + arch::kNearJumpSize)
    return reply.fail("function '" + func + "' is " + std::to_string(target->size) + " bytes, too short for a " +
                      std::to_string(keep + arch::kNearJumpSize) + "-byte jump");
  const uintptr_t site = target->address + keep;

  auto tx = RegistryTransaction::begin(error);
  if (!tx) return reply.fail(error);
  std::vector<uint8_t> saved = read_code(site, arch::kNearJumpSize);
  if (const PatchRecord* below = tx->registry.top_patch_for(target->address)) {
    for (const auto& r : below->redirects)
      if (r.target == target->address && r.written != saved)
        return reply.fail("the entry of '" + func + "' is not what '" + below->id + "' wrote; refusing to touch it");
  } else if (arch::decode_jump(RemoteAddr(site), saved)) {
    return reply.fail("'" + func + "' already starts with a jump that no patch of ours wrote (another patching tool?)");
  }

  RedirectRecord rec;
  rec.symbol = func;
  rec.replacement_name = new_func;
  rec.target = target->address;
  rec.target_size = target->size;
  rec.patch_site = site;
  rec.replacement = replacement;
  rec.replacement_size = replacement_sym ? replacement_sym->size : 0;
  rec.saved = saved;
  PatchRecord record;
  record.id = unique_id(tx->registry, func);
  record.description = "func upgrade " + lib + " " + func + " " + new_func + " (control socket)";
  record.path = library->path;
  record.applied_unix = static_cast<uint64_t>(std::time(nullptr));
  record.handle = 0;  // the library belongs to `lib load`; a ptrace revert must not dlclose it
  if (rec.replacement_size) record.code = {replacement, rec.replacement_size};

  // Callers compiled in the same object may keep values in call-clobbered registers
  // that the old function leaves alone (IPA-RA); a replacement that uses them goes
  // through a stub that saves and restores them.
  std::string preserve_names;
  auto preserve = LiveCodeWriter::registers_to_preserve(target->address, replacement, preserve_names, error);
  if (!preserve) return reply.fail("'" + func + "': cannot analyse the registers it leaves alone: " + error);
  rec.preserved = *preserve;
  std::vector<uint8_t> stub_code;
  if (*preserve)
    stub_code = arch::encode_preserving_stub(RemoteAddr(replacement), arch::RegisterSet::from_mask(*preserve));
  else if (!arch::near_jump_reaches(RemoteAddr(site), RemoteAddr(replacement)))
    stub_code = arch::encode_far_jump(RemoteAddr(replacement));
  uintptr_t destination = replacement;
  if (!stub_code.empty()) {
    auto stub = StubPages::map_near(site, stub_code, error);
    if (!stub) return reply.fail("'" + func + "': " + error);
    rec.stub = *stub;
    record.stubs.push_back({*stub, StubPages::kPageSize});
    destination = *stub;
  }
  rec.written = *arch::encode_near_jump(RemoteAddr(site), RemoteAddr(destination));
  record.redirects.push_back(rec);
  tx->registry.patches.push_back(record);

  CodeChange change{site, saved, rec.written, {entry_window(func, site, rec.written.size())}, {}};
  CodeChangeReport written;
  if (!LiveCodeWriter::replace(change, kWriteTimeoutMs, written, error)) {
    // The helper may have failed, or been killed, after it wrote the jump (it writes
    // with every thread stopped, then reports): the entry decides. Never an
    // unrecorded jump, nor one into a stub unmapped here.
    const std::vector<uint8_t> now = read_code(site, rec.written.size());
    if (now == rec.written) {
      std::string commit_error;
      if (!tx->commit(commit_error))
        return reply.fail("'" + func + "': " + error + "; the jump was written but cannot be recorded (" + commit_error +
                          "); its stub stays mapped");
      return reply.fail("'" + func + "': " + error + "; the helper had written the jump: the upgrade is in place, "
                        "recorded as " + record.id + " (func rollback " + func + " undoes it)");
    }
    if (now != saved)
      return reply.fail("'" + func + "': " + error + "; its entry holds neither the old bytes nor the jump; the stub "
                        "stays mapped");
    if (rec.stub) StubPages::unmap(rec.stub);
    return reply.fail("'" + func + "': " + error);
  }
  if (!tx->commit(error)) {
    // Not reachable in practice (the registry has room for thousands of records);
    // put the entry back rather than leave a redirect nobody knows about.
    CodeChange undo{site, rec.written, saved, change.guarded, {}};
    std::string undo_error;
    if (LiveCodeWriter::replace(undo, kWriteTimeoutMs, written, undo_error) && rec.stub) StubPages::unmap(rec.stub);
    return reply.fail(error);
  }
  reply.line("upgraded " + func + " " + hex(target->address) + " -> " + new_func + " " + hex(replacement) + " (" +
             library->path + (rec.stub ? ", via stub" : "") + (preserve_names.empty() ? "" : " keeping " + preserve_names) +
             ") as " + record.id);
  reply.line(written.summary);
}

void FunctionTable::rollback(const std::string& func, Reply& reply) {
  std::lock_guard<std::mutex> guard(lock_);
  std::string error;
  auto tx = RegistryTransaction::begin(error);
  if (!tx) return reply.fail(error);
  // The function the name stands for; else the newest redirect recorded under it.
  std::optional<uintptr_t> address;
  std::string resolve_error;
  if (auto target = resolve_target(func, resolve_error)) address = target->address;
  for (auto it = tx->registry.patches.rbegin(); !address && it != tx->registry.patches.rend(); ++it)
    for (const auto& r : it->redirects)
      if (r.symbol == func) address = r.target;
  if (!address) return reply.fail(resolve_error);
  const PatchRecord* top = tx->registry.top_patch_for(*address);
  if (!top) return reply.fail("'" + func + "' is not upgraded; nothing to roll back");
  if (!is_ours(*top))
    return reply.fail("the newest change of '" + func + "' is patch '" + top->id +
                      "' applied with `hotpatch apply`; revert it with `hotpatch -p PID revert " + top->id + "`");
  const PatchRecord record = *top;
  const RedirectRecord* rec = nullptr;
  for (const auto& r : record.redirects)
    if (r.target == *address) rec = &r;
  std::vector<uint8_t> now = read_code(rec->patch_site, rec->written.size());
  if (now != rec->written)
    return reply.fail("the entry of '" + func + "' is not what " + record.id + " wrote; refusing to restore it");
  CodeChange change{rec->patch_site, rec->written, rec->saved, {entry_window(func, rec->patch_site, rec->saved.size())}, {}};
  // The stub can go once no thread runs in it or will return into it (a preserving
  // stub calls the replacement, so a thread inside the replacement has it on its stack).
  if (rec->stub) change.probes.push_back({rec->stub, rec->stub + StubPages::kPageSize, ""});
  CodeChangeReport written;
  if (!LiveCodeWriter::replace(change, kWriteTimeoutMs, written, error)) {
    // As in upgrade: the helper may have restored the entry before it failed. Then
    // the record goes (its stub stays mapped: a thread may still be in it).
    if (read_code(rec->patch_site, rec->saved.size()) != rec->saved) return reply.fail("'" + func + "': " + error);
    std::erase_if(tx->registry.patches, [&](const PatchRecord& p) { return p.id == record.id; });
    std::string commit_error;
    if (!tx->commit(commit_error)) return reply.fail("'" + func + "': " + error + "; " + commit_error);
    return reply.fail("'" + func + "': " + error + "; the helper had restored the entry: " + record.id +
                      " is rolled back (its stub stays mapped)");
  }
  const uintptr_t stub = rec->stub;
  std::erase_if(tx->registry.patches, [&](const PatchRecord& p) { return p.id == record.id; });
  if (!tx->commit(error)) return reply.fail(error);
  // A thread still in the stub (or in the replacement called from a preserving stub)
  // can only leave it now that the entry is restored: look again a few times.
  bool stub_left = false;
  if (stub) {
    bool unused = written.probe_unused.at(0);
    CodeChange look_again{0, {}, {}, {}, change.probes};
    CodeChangeReport probed;
    std::string probe_error;
    for (int attempt = 1; !unused && attempt <= kStubReclaimAttempts; ++attempt) {
      timespec pause{0, attempt * 10 * 1000 * 1000L};
      nanosleep(&pause, nullptr);
      unused = LiveCodeWriter::replace(look_again, kWriteTimeoutMs, probed, probe_error) && probed.probe_unused.at(0);
    }
    if (unused)
      StubPages::unmap(stub);
    else
      stub_left = true;  // one page, reused by nothing; better than a thread faulting
  }
  reply.line("rolled back " + func + " " + hex(*address) + " (" + record.id + ")" +
             (stub_left ? "; its stub page stays mapped: a thread was still using it" : ""));
  reply.line(written.summary);
}

}  // namespace hotpatch::runtime
